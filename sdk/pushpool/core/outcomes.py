"""What each step can end in, as enums: callers branch on these, and logs and metrics are derived
from them (never parsed out of a message). Pure data."""

from __future__ import annotations

from enum import StrEnum


class ClaimOutcome(StrEnum):
    """A claim of one due run."""

    CLAIMED = "claimed"  # SCHEDULED -> PENDING with its slot: this dispatcher launches it
    TAKEN = "taken"  # another dispatcher claimed it, or it is no longer due
    POOL_BLOCKED = "pool_blocked"  # the pool is paused, at its limit, or gone
    QUEUE_BLOCKED = "queue_blocked"  # the queue is paused or at its limit
    DEPLOYMENT_BLOCKED = "deployment_blocked"  # the deployment is at its concurrency limit
    SCHEDULE_BLOCKED = "schedule_blocked"  # the schedule's previous run is still active


class RunOutcome(StrEnum):
    """What dispatching one due run ended in, in one pass."""

    LAUNCHED = "launched"  # a task started (or one started earlier was adopted) and recorded
    FAILED = "failed"  # bad configuration: the run is FAILED with the reason, its slot free
    THROTTLED = "throttled"  # AWS pushed back: SCHEDULED again after a backoff
    RETRY_AFTER_LEASE = "retry_after_lease"  # unknown AWS trouble: re-driven when its lease ends
    DEFERRED = "deferred"  # out of time before its launch: SCHEDULED again, due at once
    START_TIMED_OUT = "start_timed_out"  # its task missed the start deadline: stopped, crashed
    MISSED_WINDOW = "missed_window"  # not started within its schedule's max_lateness: cancelled
    TAKEN = "taken"  # claimed by another dispatcher, or it moved on meanwhile
    POOL_BLOCKED = "pool_blocked"
    QUEUE_BLOCKED = "queue_blocked"
    DEPLOYMENT_BLOCKED = "deployment_blocked"  # waits for a slot of its deployment (ENQUEUE)
    SCHEDULE_BLOCKED = "schedule_blocked"  # waits for its schedule's previous run (buffer_one)
    COLLIDED = "collided"  # cancelled by its collision or overlap policy (CANCEL_NEW, skip)
    REFUSED = (
        "refused"  # not trusted (another pool's deployment, variables the pool forbids): FAILED
    )
    RECONCILED = "reconciled"  # active, its task gone with no event (reconciler): CRASHED

    @classmethod
    def of_claim(cls, claim: ClaimOutcome) -> RunOutcome:
        """The pass's outcome for a run whose claim did not succeed."""
        return {
            ClaimOutcome.TAKEN: cls.TAKEN,
            ClaimOutcome.POOL_BLOCKED: cls.POOL_BLOCKED,
            ClaimOutcome.QUEUE_BLOCKED: cls.QUEUE_BLOCKED,
            ClaimOutcome.DEPLOYMENT_BLOCKED: cls.DEPLOYMENT_BLOCKED,
            ClaimOutcome.SCHEDULE_BLOCKED: cls.SCHEDULE_BLOCKED,
        }[claim]


class EventOutcome(StrEnum):
    """What one ECS task state change did to its run."""

    NOT_OURS = "ignored: not a pushpool task"
    UNKNOWN_RUN = "ignored: unknown run"
    OTHER_ATTEMPT = "ignored: task of another attempt"
    STALE = "ignored: stale event"
    NEWER_APPLIED = "ignored: newer event applied"
    MOVED_ON = "ignored: run moved on"
    RECORDED = "recorded"  # facts stored (exit code, task), the state left as it is
    STARTED = "marked RUNNING"
    COMPLETED = "marked COMPLETED"
    FAILED = "marked FAILED"
    CANCELLED = "marked CANCELLED"
    CRASHED = "marked CRASHED"
    RETRIED = "retried"  # crashed by the infrastructure and scheduled again as a new attempt


class EventAction(StrEnum):
    """How a task state change is to be applied to its run (see ``core.task_events.interpret``)."""

    IGNORE_OTHER_ATTEMPT = "ignore_other_attempt"
    IGNORE_STALE = "ignore_stale"
    RECORD = "record"  # store what the event says; no state change
    START = "start"  # the task runs: PENDING -> RUNNING
    COMPLETE = "complete"  # the runner exited 0
    FAIL = "fail"  # the runner exited saying the flow failed (or could not be loaded)
    CANCEL = "cancel"  # the run was CANCELLING and its task stopped
    CRASH = "crash"  # the task stopped while the run was not final
