"""The SDK: ``@flow``, ``flow.from_source(...)`` and ``.deploy(...)``, shaped like the seed course.

from pushpool import flow

@flow(log_prints=True)
def my_flow(name: str = "World"):
    print(f"Hello {name}!")

my_flow.from_source(source="https://github.com/me/repo.git",
                    entrypoint="104/hello.py:my_flow").deploy(
    name="hello-deploy", work_pool_name="my-pool")
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import inspect
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pushpool.core.models import DEFAULT_QUEUE, Deployment
from pushpool.core.params import coerce_parameters, parameter_schema
from pushpool.core.sources import CodeSource, GitSource
from pushpool.core.urls import carries_credentials
from pushpool.core.validation import validated
from pushpool.errors import EntrypointError, ValidationError

if TYPE_CHECKING:
    from pushpool.flows.sources.git import Checkout

flow_log = logging.getLogger("pushpool.flow")


def default_flow_name(fn: Callable[..., Any]) -> str:
    return fn.__name__.replace("_", "-")


class Flow:
    """A function registered as a flow: a name, log routing and retries around it."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        log_prints: bool = False,
        retries: int = 0,
        retry_delay_seconds: float = 0,
    ) -> None:
        if not callable(fn):
            raise TypeError("@flow decorates a function.")
        self.fn = fn
        self.name = name or default_flow_name(fn)
        self.description = description or inspect.getdoc(fn) or ""
        self.log_prints = log_prints
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self._source: CodeSource | None = None
        self._entrypoint: str | None = None
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._print_routing():
            return self.fn(*args, **kwargs)

    # ---------------------------------------------------------------- running
    def parameter_schema(self) -> dict[str, Any]:
        return parameter_schema(self.fn)

    def validate_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return coerce_parameters(self.fn, parameters)

    def run_with_retries(
        self, parameters: dict[str, Any], *, sleep: Callable[[float], None] = time.sleep
    ) -> Any:
        """Call the flow, retrying ``retries`` times on exceptions (what the runner does)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self(**parameters)
            except Exception as exc:
                if attempt > self.retries:
                    raise
                flow_log.warning(
                    "Attempt %d of %d failed with %s: %s; retrying in %ss",
                    attempt,
                    self.retries + 1,
                    type(exc).__name__,
                    exc,
                    self.retry_delay_seconds,
                )
                sleep(self.retry_delay_seconds)

    @contextlib.contextmanager
    def _print_routing(self) -> Iterator[None]:
        if not self.log_prints:
            yield
            return
        original = builtins.print

        def logged_print(
            *values: Any,
            sep: str | None = " ",
            end: str | None = "\n",
            file: Any = None,
            flush: bool = False,
        ) -> None:
            if file is not None:
                original(*values, sep=sep, end=end, file=file, flush=flush)
                return
            flow_log.info((sep if sep is not None else " ").join(str(v) for v in values))

        builtins.print = logged_print
        try:
            yield
        finally:
            builtins.print = original

    # ---------------------------------------------------------------- deploying
    def from_source(
        self,
        source: str,
        entrypoint: str,
        *,
        ref: str | None = None,
        credentials: str | None = None,
    ) -> Flow:
        """The same as :func:`from_source`; here for ``my_flow.from_source(...)`` as in the seed."""
        return from_source(source=source, entrypoint=entrypoint, ref=ref, credentials=credentials)

    def deploy(
        self,
        name: str,
        work_pool_name: str,
        *,
        work_queue_name: str = DEFAULT_QUEUE,
        job_variables: dict[str, Any] | None = None,
        parameters: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        description: str | None = None,
        image: Any = None,
        build: bool = True,
        push: bool = True,
        infra_retries: int | None = None,
        cron: str | Iterable[str] | None = None,
        interval: Any = None,
        rrule: str | Iterable[str] | None = None,
        timezone: str | None = None,
        schedules: Iterable[Any] | None = None,
        paused: bool | None = None,
        concurrency_limit: Any = None,
        print_next_steps: bool = True,
        store: Any = None,
    ) -> Deployment:
        """Register this flow as a deployment on a work pool, with its schedules (``cron``,
        ``interval`` and ``rrule`` each take one or a list; ``schedules`` takes
        ``pushpool.schedules`` objects); prints the command to run it.

        ``image`` (``"repo/name:tag"`` or ``pushpool.docker.DockerImage``) without a source bakes
        the project directory into an image: built through the Docker engine (``build``, skipped
        when nothing changed) and pushed to the pool's repository (``push``; runs then use its
        digest). With ``from_source`` it only names the image that runs the flow."""
        from pushpool.flows.deploy import DeployOptions, deploy_flow

        options = DeployOptions(
            work_queue_name=work_queue_name,
            job_variables=job_variables,
            parameters=parameters,
            tags=tags,
            description=description,
            image=image,
            build=build,
            push=push,
            infra_retries=infra_retries,
            cron=cron,
            interval=interval,
            rrule=rrule,
            timezone=timezone,
            schedules=schedules,
            paused=paused,
            concurrency_limit=concurrency_limit,
            store=store,
            announce=_announce if print_next_steps else None,
        )
        saved = deploy_flow(self, name, work_pool_name, options)
        if print_next_steps:
            _print_deployed(saved)
        return saved

    def _local_entrypoint(self) -> str:
        file = Path(inspect.getfile(self.fn)).resolve()
        relative = file.relative_to(self._project_dir())
        return f"{relative.as_posix()}:{self.fn.__name__}"

    def _project_dir(self) -> Path:
        """The folder an image of this flow holds: the working directory when the flow's file
        is in it (as ``prefect deploy`` does), else the file's own folder."""
        file = Path(inspect.getfile(self.fn)).resolve()
        here = Path.cwd().resolve()
        return here if file.is_relative_to(here) else file.parent


def _announce(line: str) -> None:
    from pushpool.display import console

    console.print(line)


def _print_deployed(deployment: Deployment) -> None:
    from pushpool.display import print_deployed

    print_deployed(deployment)


def from_source(
    source: str, entrypoint: str, *, ref: str | None = None, credentials: str | None = None
) -> Flow:
    """Fetch the code (git clone, a local path, or an S3 bundle: ``s3://bucket/prefix``), load
    the entrypoint, and return its flow with the source and exact commit (or bundle hash) recorded
    for the runner.

    ``credentials`` names where a private repository's token is stored (a Secrets Manager secret
    or an SSM parameter, see ``pushpool.core.credentials``): it is read now, with your AWS
    credentials, for this clone, and again by each run; only the name is recorded. The clone is
    made in a temporary folder, removed before this returns (or raises).
    """
    from pushpool.core.bundles import is_s3_url
    from pushpool.flows.sources.git import is_local

    if is_s3_url(source):
        return _from_s3(source, entrypoint, ref=ref, credentials=credentials)
    wanted = validated(lambda: GitSource(url=source, ref=ref, credentials=credentials))
    if carries_credentials(source):
        raise ValidationError(
            f"Source {wanted.url!r} carries credentials in its URL (user:password@ or a token "
            "parameter); they are never stored nor sent to runs. Store the token in Secrets "
            "Manager and pass credentials='<prefix>/<pool>/github-token' instead."
        )
    with tempfile.TemporaryDirectory(prefix="pushpool-src-") as scratch:
        loaded, checkout = _load_from(Path(scratch), source, entrypoint, wanted)
    remote = loaded if isinstance(loaded, Flow) else _as_flow(loaded, entrypoint)
    if checkout.commit is None and is_local(source):
        raise ValidationError(
            f"Source {source!r} is a directory but not a git repository. Run `git init` and commit "
            "the flow there, or push it to a git host, so runs get exactly this code."
        )
    fields = {**wanted.model_dump(), "url": checkout.url or source, "commit": checkout.commit}
    remote._source = validated(lambda: GitSource(**fields))
    remote._entrypoint = entrypoint
    return remote


def _from_s3(source: str, entrypoint: str, *, ref: str | None, credentials: str | None) -> Flow:
    """A bundle in S3: resolved to its exact key and hash, unpacked into a temporary folder and
    its entrypoint imported; the runner fetches that object and checks the same hash."""
    from pushpool.flows.entrypoints import load_entrypoint
    from pushpool.flows.sources import bundle, s3

    if ref is not None or credentials is not None:
        raise ValidationError(
            f"ref= and credentials= are for git sources; {source!r} is in S3 (read with your "
            "AWS credentials, and by runs through the pool's task role). Drop them."
        )
    located, data = s3.resolve(source)
    with tempfile.TemporaryDirectory(prefix="pushpool-src-") as scratch:
        code = Path(scratch) / "code"
        bundle.unpack(data, code, what=located.location.url)
        try:
            loaded = load_entrypoint(code, entrypoint)
        finally:
            sys.path[:] = [p for p in sys.path if not Path(p).is_relative_to(scratch)]
    remote = loaded if isinstance(loaded, Flow) else _as_flow(loaded, entrypoint)
    remote._source = located
    remote._entrypoint = entrypoint
    return remote


def _load_from(
    scratch: Path, source: str, entrypoint: str, wanted: GitSource
) -> tuple[Any, Checkout]:
    """Clone into ``scratch`` and import the entrypoint; ``scratch``'s folders leave sys.path."""
    from pushpool.flows.entrypoints import load_entrypoint
    from pushpool.flows.sources.git import fetch

    token = None
    if wanted.credentials:
        from pushpool.aws.secrets import read_token

        token = read_token(wanted.credentials)
    try:
        checkout = fetch(source, ref=wanted.ref, into=scratch / "code", token=token)
        return load_entrypoint(checkout.path, entrypoint), checkout
    finally:
        sys.path[:] = [p for p in sys.path if not Path(p).is_relative_to(scratch)]


def _as_flow(obj: Any, entrypoint: str) -> Flow:
    if callable(obj):
        return Flow(obj)
    raise EntrypointError(f"Entrypoint {entrypoint!r} is not a function or flow.")


class FlowDecorator:
    """``@flow``, ``@flow(...)`` and ``flow.from_source(...)``."""

    def __call__(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        log_prints: bool = False,
        retries: int = 0,
        retry_delay_seconds: float = 0,
    ) -> Any:
        def wrap(function: Callable[..., Any]) -> Flow:
            return Flow(
                function,
                name=name,
                description=description,
                log_prints=log_prints,
                retries=retries,
                retry_delay_seconds=retry_delay_seconds,
            )

        return wrap(fn) if fn is not None else wrap

    @staticmethod
    def from_source(
        source: str, entrypoint: str, *, ref: str | None = None, credentials: str | None = None
    ) -> Flow:
        return from_source(source=source, entrypoint=entrypoint, ref=ref, credentials=credentials)


flow = FlowDecorator()
