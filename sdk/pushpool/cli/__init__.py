"""The ``pushpool`` command line (typer + rich). Thin: parse, call ``pushpool.operations`` or the
store, print. Never imported by runtime code (Lambda handlers, runner)."""
