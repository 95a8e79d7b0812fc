"""Deployment schedules: cron, interval and rrule in a time zone, with their policies. Pure data.

``from pushpool.schedules import Cron, Interval, RRule`` (the SDK's names for these):

    Cron("0 * * * *", timezone="Europe/Paris")
    Interval(timedelta(minutes=10), anchor_date=datetime(2026, 1, 1, tzinfo=UTC))
    RRule("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", timezone="America/New_York", parameters={"n": 3})

Each validates itself when built (a clear error naming the value and the fix); the fire-time maths
is :mod:`pushpool.core.firetimes`. A schedule's ``slug`` names it within its deployment; without
one it is derived from what the schedule is, so the same schedule deployed again is the same one.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic import ValidationError as PydanticValidationError

from pushpool.core.timeutil import parse_duration
from pushpool.core.validation import first_error
from pushpool.errors import ScheduleError

MAX_RRULE_LENGTH = 6500
MAX_INTERVAL = timedelta(days=3653)
_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


class CatchUp(StrEnum):
    """Fire times missed while the dispatcher was down or the schedule paused."""

    SKIP = "skip"  # only runs whose time is still ahead
    LATEST = "latest"  # the last missed fire time runs once
    ALL = "all"  # every missed fire time, oldest first (within catchup_window)


class Overlap(StrEnum):
    """When a run of the schedule comes due while its previous run is still active."""

    ALLOW = "allow"  # start it anyway
    SKIP = "skip"  # cancel the new run
    BUFFER_ONE = "buffer_one"  # start it when the active one ends (one waits; later ones skip)
    CANCEL_OTHER = "cancel_other"  # cancel the active run, then start the new one


def _build(init: Any) -> None:
    """Run a model's ``__init__``; what it refuses becomes one ScheduleError with the reason."""
    try:
        init()
    except PydanticValidationError as exc:
        raise ScheduleError(first_error(exc)) from None


class _Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    timezone: str = Field(default="UTC", description="IANA time zone the times are read in.")
    active: bool = Field(default=True, description="An inactive schedule makes no runs.")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Merged over the deployment's parameters."
    )
    slug: str | None = Field(default=None, description="Name within the deployment.")
    catchup: CatchUp = Field(default=CatchUp.SKIP, description="What to do with missed times.")
    catchup_window: timedelta | None = Field(
        default=None, description="Missed times older than this are never caught up."
    )
    overlap: Overlap = Field(default=Overlap.ALLOW, description="When the previous run is active.")
    max_lateness: timedelta | None = Field(
        default=None, description="A run not started this long after its time is cancelled."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"Unknown time zone {value!r}. Use an IANA name such as 'UTC', 'Europe/Paris' "
                "or 'America/New_York'."
            ) from None
        return value

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not SLUG.match(value):
            raise ValueError(
                f"Schedule slug {value!r} is not allowed. Use 1-63 letters, digits, '-' or '_'."
            )
        return value

    @field_validator("catchup_window", "max_lateness", mode="before")
    @classmethod
    def _read_window(cls, value: Any, info: ValidationInfo) -> Any:
        return read_duration(value, str(info.field_name))

    @field_validator("catchup_window", "max_lateness")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError(
                f"{value.total_seconds():g}s is not a positive duration. Use, for example, 1h "
                "or 10m."
            )
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def spec(self) -> dict[str, Any]:
        """What makes the fire times: changing any of it makes another schedule."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The slug, or one derived from the spec (stable across redeploys)."""
        if self.slug:
            return self.slug
        text = json.dumps(self.spec(), sort_keys=True, default=str)
        return f"{self.spec()['kind']}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"

    def describe(self) -> str:
        raise NotImplementedError


class Cron(_Schedule):
    """A cron expression (five fields, Debian cron's rules, DST handled as cron does)."""

    kind: Literal["cron"] = "cron"
    cron: str = Field(description="Five-field cron expression, e.g. '0 * * * *'.")

    def __init__(self, cron: str | None = None, /, **data: Any) -> None:
        fields = {"cron": cron} if cron is not None else {}
        _build(lambda: super(_Schedule, self).__init__(**fields, **data))

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from cronsim import CronSim, CronSimError

        if len(value.split()) != 5:
            raise ValueError(
                f"Cron expression {value!r} has {len(value.split())} fields. Use five fields: "
                "minute hour day-of-month month day-of-week, e.g. '0 * * * *' for every hour."
            )
        try:
            CronSim(value, datetime(2000, 1, 1))
        except (CronSimError, ValueError) as exc:
            raise ValueError(
                f"Cron expression {value!r} is invalid ({exc}). Use five fields: minute hour "
                "day-of-month month day-of-week, e.g. '0 * * * *' for every hour."
            ) from None
        return value

    def spec(self) -> dict[str, Any]:
        return {"kind": "cron", "cron": self.cron, "timezone": self.timezone}

    def describe(self) -> str:
        return f"cron {self.cron!r} ({self.timezone})"


class Interval(_Schedule):
    """Every ``interval`` from ``anchor_date``. Whole days keep the local time of day across
    daylight-saving changes; shorter intervals are exact elapsed time."""

    kind: Literal["interval"] = "interval"
    interval: timedelta = Field(description="Seconds, a timedelta or ISO 8601 like 'PT10M'.")
    anchor_date: datetime | None = Field(
        default=None, description="A time it fires at; 2020-01-01 00:00 in its zone if unset."
    )

    def __init__(self, interval: Any = None, /, **data: Any) -> None:
        fields = {"interval": interval} if interval is not None else {}
        _build(lambda: super(_Schedule, self).__init__(**fields, **data))

    @field_validator("interval", mode="before")
    @classmethod
    def _read_interval(cls, value: Any) -> Any:
        return read_duration(value, "Interval")

    @field_validator("interval")
    @classmethod
    def _positive_interval(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError(
                f"Interval {value.total_seconds():g}s is not positive. Use a number of seconds above 0, a timedelta, "
                "or an ISO 8601 duration such as 'PT10M'."
            )
        return value

    @property
    def anchor(self) -> datetime:
        """The anchor as an aware time (a naive one is read in the schedule's zone)."""
        anchor = self.anchor_date or datetime(2020, 1, 1)
        return anchor if anchor.tzinfo else anchor.replace(tzinfo=self.zone)

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "interval",
            "interval": self.interval.total_seconds(),
            "anchor_date": self.anchor.isoformat(),
            "timezone": self.timezone,
        }

    def describe(self) -> str:
        return f"every {self.interval} from {self.anchor.isoformat()} ({self.timezone})"


class RRule(_Schedule):
    """An iCalendar recurrence rule (RFC 5545), read by dateutil; COUNT is not allowed (a
    schedule that ends by itself cannot be resumed predictably)."""

    kind: Literal["rrule"] = "rrule"
    rrule: str = Field(description="e.g. 'FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0'.")

    def __init__(self, rrule: str | None = None, /, **data: Any) -> None:
        fields = {"rrule": rrule} if rrule is not None else {}
        _build(lambda: super(_Schedule, self).__init__(**fields, **data))

    @field_validator("rrule")
    @classmethod
    def _valid_rrule(cls, value: str) -> str:
        if len(value) > MAX_RRULE_LENGTH:
            raise ValueError(
                f"The rrule is {len(value)} characters; the most is {MAX_RRULE_LENGTH}. "
                "Split it into several schedules."
            )
        if re.search(r"(^|[;:\s])COUNT=", value.upper()):
            raise ValueError(
                f"RRule {value!r} uses COUNT, which pushpool does not accept. Use UNTIL to end it."
            )
        from dateutil.rrule import rrulestr

        try:
            rrulestr(rule_text(value, ZoneInfo("UTC")), dtstart=datetime(2020, 1, 1), ignoretz=True)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"RRule {value!r} is invalid ({exc}). Write it as RFC 5545 says, e.g. "
                "'FREQ=DAILY;BYHOUR=9;BYMINUTE=0'."
            ) from None
        return value

    def spec(self) -> dict[str, Any]:
        return {"kind": "rrule", "rrule": self.rrule, "timezone": self.timezone}

    def describe(self) -> str:
        return f"rrule {self.rrule!r} ({self.timezone})"


Schedule = Annotated[Cron | Interval | RRule, Field(discriminator="kind")]


def rule_text(value: str, zone: tzinfo) -> str:
    """The rule with an UNTIL given in UTC (``...Z``) read as the zone's wall time, as dateutil
    needs it for rules iterated in wall time."""

    def local(match: re.Match[str]) -> str:
        moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return "UNTIL=" + moment.astimezone(zone).strftime("%Y%m%dT%H%M%S")

    return _UNTIL_UTC.sub(local, value)


def read_duration(value: Any, what: str) -> Any:
    """Seconds, '10m' / '1h30m' or ISO 8601 'PT10M' as a timedelta; anything else as it is."""
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a duration.")
    if isinstance(value, int | float):
        if not math.isfinite(value) or abs(value) > MAX_INTERVAL.total_seconds():
            raise ValueError(
                f"{what} {value!r} seconds is not a usable duration. Use a number of seconds "
                "above 0 and at most ten years, or a timedelta."
            )
        return timedelta(seconds=value)
    if not isinstance(value, str):
        return value
    try:
        iso = value.strip().upper().startswith("P")
        return parse_iso_duration(value) if iso else parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def parse_iso_duration(text: str) -> timedelta:
    """'PT10M', 'P1D', 'PT1H30M' -> timedelta (days, hours, minutes and seconds only)."""
    match = _ISO_DURATION.match(text.strip().upper())
    if not match or not any(match.groupdict().values()):
        raise ValueError(
            f"Cannot read duration {text!r}. Use ISO 8601 such as 'PT10M', 'PT1H' or 'P1D'."
        )
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )
