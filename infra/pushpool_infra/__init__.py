"""pushpool's Pulumi components: State (shared tables), Compute, Dispatcher, TaskEvents, Console.

Imported only by the Pulumi program (``infra/__main__.py``) and its tests; never by the CLI or the
Lambda handlers.
"""
