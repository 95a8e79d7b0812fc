"""`pushpool code upload DIR s3://bucket/prefix`: a project as a content-addressed bundle in S3."""

from __future__ import annotations

from pathlib import Path

import typer

from pushpool.cli.common import Output, OutputOption, handle_errors
from pushpool.display import console

app = typer.Typer(
    no_args_is_help=True, help="Flow code stored in S3 (content-addressed bundles): upload."
)


@app.command("upload")
@handle_errors
def upload(
    folder: Path = typer.Argument(
        ..., help="The project folder (.git, __pycache__, .venv left out)."
    ),
    url: str = typer.Argument(..., help="Where: s3://<bucket>/<prefix>."),
    output: Output = OutputOption,
) -> None:
    """Pack FOLDER and upload it once per content; prints the from_source URL to deploy from."""
    from pushpool.flows.sources.s3 import upload_code

    done = upload_code(folder, url)
    if output is Output.json:
        import json

        fields = {"url": done.url, "sha256": done.source.sha256, "files": done.files}
        fields |= {"uploaded": done.uploaded, "version_id": done.source.version_id}
        typer.echo(json.dumps(fields))
        return
    verb = "Uploaded" if done.uploaded else "Already there (same content), not uploaded again:"
    console.print(f"{verb} {done.url} ({done.files} files)", highlight=False, markup=False)
    console.print(
        f'Deploy it with: flow.from_source("{done.url}", entrypoint="path/to/file.py:fn")',
        highlight=False,
        markup=False,
    )
