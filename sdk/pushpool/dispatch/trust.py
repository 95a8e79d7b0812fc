"""What the dispatcher checks before it claims a run: nothing a run item says is taken on trust.

A run item could have been written by anyone able to write the runs table, so before a run is
claimed (and its slot taken) the pool comes from its deployment, not from the item: the deployment
must belong to the pool whose dispatcher is looking at the run, and the run's job variables are
checked again against that pool's schema, its locked variables and its type's checks. A run that
fails any of these is refused: FAILED with the reason, counted, and nothing is launched.
"""

from __future__ import annotations

import json
import logging

from pushpool.core.models import Deployment, WorkPool
from pushpool.core.records import DueRun
from pushpool.errors import ValidationError
from pushpool.pooltypes import check_job

log = logging.getLogger("pushpool.dispatch")


class Trust:
    """One pool's checks for one pass; a deployment's variables are checked once per pass."""

    def __init__(self, pool: WorkPool, prefix: str) -> None:
        self.pool = pool
        self.prefix = prefix
        self._checked: dict[tuple[str, str, str], str | None] = {}

    def problem(self, item: DueRun, deployment: Deployment | None) -> str | None:
        """Why this run may not be dispatched by this pool, or None when it may."""
        if deployment is None:
            return None  # gone: the claim fails it, saying so
        pool = self.pool.name
        if deployment.pool != pool:
            return (
                f"Refused: the run names deployment {deployment.full_name!r} of work pool "
                f"{deployment.pool!r}, not of {pool!r}, whose dispatcher found it. Nothing was "
                "launched; create runs with `pushpool deployment run`."
            )
        if item.run.pool != pool:
            return (
                f"Refused: the run says work pool {item.run.pool!r} but was due in {pool!r}, the "
                f"pool of its deployment {deployment.full_name!r}. Nothing was launched."
            )
        return self._variables_problem(item, deployment)

    def _variables_problem(self, item: DueRun, deployment: Deployment) -> str | None:
        key = (
            deployment.full_name,
            json.dumps(deployment.job_variables, sort_keys=True, default=str),
            json.dumps(item.run.job_variables, sort_keys=True, default=str),
        )
        if key not in self._checked:
            try:
                check_job(
                    self.pool, deployment.job_variables, item.run.job_variables, prefix=self.prefix
                )
                self._checked[key] = None
            except ValidationError as exc:
                self._checked[key] = f"Refused at dispatch: {exc}"
        return self._checked[key]
