"""Lambda entry points (Powertools logging and metrics around the domain code).

``functions/*.py`` re-export these; the local emulator calls the very same functions in-process.
Runtime code: must never import the CLI, rich, typer, Pulumi or moto.
"""
