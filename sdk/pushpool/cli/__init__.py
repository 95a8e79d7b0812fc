"""The ``pushpool`` command line (typer + rich). Thin: each command parses its arguments, makes
one call of ``pushpool.client.Client`` (the service layer the SDK uses too) and prints. Never
imported by runtime code (Lambda handlers, runner) or by the emulator (``pushpool.dev``)."""
