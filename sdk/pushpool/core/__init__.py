"""The domain core: plain data and rules, no I/O. Never imports boto3, an adapter, the CLI or the emulator."""
