"""Every error pushpool raises on purpose.

One root, ``PushpoolError``; each subclass ends in ``Error``. Messages name the offending value and
the next step, so the CLI can print them as they are. AWS errors are translated into these at the
adapter modules (``pushpool.aws.*``) with ``raise ... from exc``; nothing above the adapters ever
sees a botocore exception.
"""

from __future__ import annotations

from typing import Any


class PushpoolError(Exception):
    """Root of every pushpool error."""


class ConfigurationError(PushpoolError):
    """The local configuration (environment, credentials, endpoint) cannot work."""


class NotFoundError(PushpoolError):
    """A named pool, queue, deployment or run does not exist."""


class AlreadyExistsError(PushpoolError):
    """Creating something that exists, without asking to overwrite it."""


class ValidationError(PushpoolError):
    """Input that cannot be accepted: nothing was written."""


class JobVariablesError(ValidationError):
    """Job variables unknown to, or invalid under, the pool's base job template schema."""


class ParametersError(ValidationError):
    """Flow run parameters that do not match the flow's signature."""


class EntrypointError(ValidationError):
    """A deployment entrypoint whose file or function cannot be found or loaded."""


class ItemTooLargeError(ValidationError):
    """An item that would exceed DynamoDB's 400 KB limit."""


class ScheduleError(ValidationError):
    """A schedule that cannot be read: its cron, interval, rrule, time zone or policies."""


class TemplateError(ValidationError):
    """A base job template that is malformed or cannot be rendered."""


class SourceError(PushpoolError):
    """Flow code could not be fetched from its source (git clone, checkout, path)."""


class ConflictError(PushpoolError):
    """A conditional write lost: the item changed under us (another dispatcher, a newer event).

    ``current`` carries the stored item (or model) as the failed condition saw it, when known.
    """

    def __init__(self, message: str, *, current: Any = None) -> None:
        super().__init__(message)
        self.current = current


class StateTransitionError(ConflictError):
    """A run cannot move from its current state to the requested one."""


class AwsError(PushpoolError):
    """An AWS call failed for a reason pushpool does not handle more specifically."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class ThrottledError(AwsError):
    """AWS asked us to slow down, or lacked capacity: retry later with backoff."""

    def __init__(self, message: str, *, code: str = "ThrottlingException") -> None:
        super().__init__(message, code=code, retryable=True)


class LaunchConfigurationError(AwsError):
    """AWS rejected the task configuration itself: retrying cannot help, the run fails."""

    def __init__(self, message: str, *, code: str = "InvalidParameterException") -> None:
        super().__init__(message, code=code, retryable=False)


class WorkerError(PushpoolError):
    """A worker cannot serve its pool (wrong type, no Docker engine, a queue it does not have)."""


class InfrastructureError(PushpoolError):
    """Provisioning or tearing down AWS infrastructure failed."""


class ImageError(PushpoolError):
    """A container image could not be built, pushed or pulled."""


class DockerUnavailableError(ImageError):
    """No Docker engine answers where one is needed (building an image, running it locally)."""
