"""The `pushpool` command's entry point: the `ls` tables go the fast way (:mod:`.fast`, no typer
and no pydantic loaded), everything else to the typer app (:mod:`.main`)."""

from __future__ import annotations

import os
import sys


def main() -> None:
    # the CLI uses no pydantic plugin; looking for them reads every installed package's metadata
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from pushpool.cli.fast import run

    code = run(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from pushpool.cli.main import app

    app(prog_name="pushpool")


if __name__ == "__main__":  # pragma: no cover
    main()
