"""Translate botocore exceptions into pushpool errors (shared by the adapters)."""

from __future__ import annotations

from typing import Any, NoReturn

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from pushpool.errors import AwsError, ConfigurationError, ThrottledError

THROTTLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "LimitExceededException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalFailure",
        "ServerException",
    }
)
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    return str(exc)


def is_rate_exceeded(exc: BaseException) -> bool:
    """AWS sometimes hides throttling in another code (EC2's 'Rate exceeded' inside ECS)."""
    return "rate exceeded" in error_message(exc).lower()


def raise_connection_error(exc: BaseException, endpoint: str | None) -> NoReturn:
    if isinstance(exc, NoCredentialsError):
        raise ConfigurationError(
            "No AWS credentials found. Run `aws configure` or set AWS_PROFILE; for the local "
            "emulator start `pushpool dev` and export the variables it prints."
        ) from exc
    if isinstance(exc, NoRegionError):
        raise ConfigurationError(
            "No AWS region set. Export AWS_DEFAULT_REGION (for example us-east-1)."
        ) from exc
    where = endpoint or "AWS"
    raise ConfigurationError(
        f"Cannot reach {where}. If you use the local emulator, is `pushpool dev` still running? "
        "Otherwise unset AWS_ENDPOINT_URL."
    ) from exc


def translate(exc: BaseException, what: str, endpoint: str | None = None) -> NoReturn:
    """Raise the pushpool error for a botocore exception raised while doing ``what``."""
    if isinstance(exc, CONNECTION_ERRORS):
        raise_connection_error(exc, endpoint)
    code = error_code(exc)
    message = error_message(exc)
    if code in THROTTLE_CODES or is_rate_exceeded(exc):
        raise ThrottledError(f"{what}: AWS is throttling ({code}: {message})", code=code) from exc
    raise AwsError(f"{what} failed: {code}: {message}", code=code) from exc


def response_items(exc: ClientError) -> list[dict[str, Any]]:
    """CancellationReasons of a TransactionCanceledException (one per transaction item)."""
    return list(exc.response.get("CancellationReasons", []) or [])
