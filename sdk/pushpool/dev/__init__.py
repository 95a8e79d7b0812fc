"""The local AWS emulator: moto's server, the same tables, the same handlers, subprocesses as Fargate.

Development tooling: never imported by ``functions/`` or the runner.
"""
