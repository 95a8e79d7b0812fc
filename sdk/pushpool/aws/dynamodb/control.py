"""Pools, queues, deployments and task definitions: the ``<prefix>-control`` table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from pushpool.aws.codec import check_size, from_item, to_item, to_plain
from pushpool.aws.dynamodb.base import StoreBase
from pushpool.aws.dynamodb.reads import deployment_not_found
from pushpool.aws.expressions import Expr
from pushpool.core import tables
from pushpool.core.models import Deployment, WorkPool, WorkQueue
from pushpool.core.timeutil import iso, now
from pushpool.core.updates import DeploymentUpdate, PoolUpdate, QueueUpdate
from pushpool.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
)


class ControlStore(StoreBase):
    # ---------------------------------------------------------------- pools
    def create_pool(self, pool: WorkPool, *, overwrite: bool = False) -> WorkPool:
        """Create a pool; with ``overwrite`` update its definition but keep counters and queues."""
        plain = to_plain(pool)
        check_size(plain, f"Work pool {pool.name!r}")
        if overwrite:
            expr = Expr()
            for field in (
                "name",
                "type",
                "description",
                "base_job_template",
                "concurrency_limit",
                "updated_at",
            ):
                expr.set(field, plain[field])
            # what users set since (pause, limits per queue, retries) and the counters stay
            kept = (
                "created_at",
                "paused",
                "active_runs",
                "queues",
                "infrastructure",
                "start_deadline_seconds",
                "infra_retries",
                "spot_fallback",
            )
            for field in kept:
                ref = expr.name(field)
                expr.set_raw(f"{ref} = if_not_exists({ref}, {expr.value(plain[field])})")
            key = self._control_key(tables.POOL_PK, pool.name)
            return WorkPool.model_validate(self._update(self.control, key, expr, "Update pool"))
        item = {"pk": tables.POOL_PK, "sk": pool.name, **plain}
        try:
            self._call(
                "put_item",
                "Create pool",
                TableName=self.control,
                Item=to_item(item),
                # a pool name is taken once; --overwrite goes through the update path above
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            raise AlreadyExistsError(
                f"Work pool {pool.name!r} already exists. Use --overwrite to update it."
            ) from exc
        return pool

    def get_pool(self, name: str) -> WorkPool:
        return WorkPool.model_validate(self.pool_item(name))

    def update_pool(self, name: str, changes: PoolUpdate) -> WorkPool:
        """Write only the fields ``changes`` gives, on the pool as it is now (one UpdateItem)."""
        expr = Expr().when("attribute_exists(pk)")  # updating nothing is a typo: say so
        for field, value in {**changes.changes(), "updated_at": now()}.items():
            expr.set(field, to_plain(value))
        try:
            item = self._update(
                self.control, self._control_key(tables.POOL_PK, name), expr, "Update pool"
            )
        except ConflictError as exc:
            raise NotFoundError(f"Work pool {name!r} not found. See `pushpool pool ls`.") from exc
        return WorkPool.model_validate(item)

    def delete_pool(self, name: str) -> None:
        try:
            self._call(
                "delete_item",
                "Delete pool",
                TableName=self.control,
                Key=self._control_key(tables.POOL_PK, name),
                ConditionExpression="attribute_exists(pk)",  # deleting nothing is a typo, say so
            )
        except ClientError as exc:
            raise NotFoundError(f"Work pool {name!r} not found. See `pushpool pool ls`.") from exc

    # ---------------------------------------------------------------- queues
    def create_queue(self, pool: str, queue: WorkQueue) -> WorkPool:
        expr = Expr().set(f"queues.{queue.name}", to_plain(queue)).set("updated_at", now())
        pool_ref = expr.name("pk")
        queue_ref = expr.name(f"queues.{queue.name}")
        # the pool must exist and the queue must not: creating twice would reset its counter
        expr.when(f"attribute_exists({pool_ref}) AND attribute_not_exists({queue_ref})")
        try:
            item = self._update(
                self.control, self._control_key(tables.POOL_PK, pool), expr, "Create queue"
            )
        except ConflictError as exc:
            self.get_pool(pool)  # raises NotFoundError for a missing pool
            raise AlreadyExistsError(
                f"Queue {queue.name!r} already exists in pool {pool!r}. "
                f"Change it with `pushpool queue set-concurrency-limit` or pause/resume it."
            ) from exc
        return WorkPool.model_validate(item)

    def update_queue(self, pool: str, queue: str, changes: QueueUpdate) -> WorkPool:
        expr = Expr()
        for field, value in changes.changes().items():
            expr.set(f"queues.{queue}.{field}", to_plain(value))
        expr.set("updated_at", now())
        expr.when(f"attribute_exists({expr.name(f'queues.{queue}')})")
        try:
            item = self._update(
                self.control, self._control_key(tables.POOL_PK, pool), expr, "Update queue"
            )
        except ConflictError as exc:
            self.get_pool(pool)
            raise NotFoundError(
                f"Queue {queue!r} not found in pool {pool!r}. "
                f"List queues with `pushpool queue ls --pool {pool}`."
            ) from exc
        return WorkPool.model_validate(item)

    def delete_queue(self, pool: str, queue: str) -> WorkPool:
        expr = Expr().remove(f"queues.{queue}").set("updated_at", now())
        ref = expr.name(f"queues.{queue}")
        # a queue whose runs hold slots keeps them: removing it would strand the counter
        expr.when(f"attribute_exists({ref}) AND {ref}.{expr.name('active_runs')} = {expr.value(0)}")
        try:
            item = self._update(
                self.control, self._control_key(tables.POOL_PK, pool), expr, "Delete queue"
            )
        except ConflictError as exc:
            found = self.get_pool(pool).queues.get(queue)
            if found is None:
                raise NotFoundError(
                    f"Queue {queue!r} not found in pool {pool!r}. "
                    f"List queues with `pushpool queue ls --pool {pool}`."
                ) from exc
            raise ConflictError(
                f"Queue {queue!r} of pool {pool!r} has {found.active_runs} active run(s). "
                "Wait for them to finish or cancel them, then delete the queue."
            ) from exc
        return WorkPool.model_validate(item)

    # ---------------------------------------------------------------- deployments
    def put_deployment(self, deployment: Deployment) -> tuple[Deployment, bool]:
        """Create or update (by flow/name). Returns the stored deployment and whether it is new."""
        existing = self.find_deployment(deployment.full_name)
        if existing is not None:
            deployment = deployment.model_copy(
                update={"id": existing.id, "created_at": existing.created_at, "updated_at": now()}
            )
        plain = to_plain(deployment)
        check_size(plain, f"Deployment {deployment.full_name!r}")
        # every field but the slots its runs hold, which claims and releases keep
        expr = Expr()
        for field, value in plain.items():
            if field != "holders":
                expr.set(field, value)
        key = self._control_key(tables.DEPLOYMENT_PK, deployment.full_name)
        stored = self._update(self.control, key, expr, "Save deployment")
        return Deployment.model_validate(stored), existing is None

    def find_deployment(self, full_name: str) -> Deployment | None:
        item = self.deployment_item(full_name)
        return Deployment.model_validate(item) if item is not None else None

    def get_deployment(self, full_name: str) -> Deployment:
        found = self.find_deployment(full_name)
        if found is None:
            raise deployment_not_found(full_name)
        return found

    def list_deployments(self) -> list[Deployment]:
        return [Deployment.model_validate(item) for item in self.deployment_items()]

    def get_deployments(self, full_names: Iterable[str]) -> dict[str, Deployment]:
        """Many deployments in one BatchGetItem per 100 names."""
        names = sorted(set(full_names))
        found: dict[str, Deployment] = {}
        for start in range(0, len(names), 100):
            keys = [self._control_key(tables.DEPLOYMENT_PK, n) for n in names[start : start + 100]]
            request: dict[str, Any] = {self.control: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self._call("batch_get_item", "Read deployments", RequestItems=request)
                for item in response.get("Responses", {}).get(self.control, []):
                    deployment = Deployment.model_validate(from_item(item))
                    found[deployment.full_name] = deployment
                request = response.get("UnprocessedKeys") or {}
        return found

    def update_deployment(self, full_name: str, changes: DeploymentUpdate) -> Deployment:
        """Write only the fields ``changes`` gives (a pause never undoes a concurrent redeploy)."""
        expr = Expr().when("attribute_exists(pk)")
        for field, value in {**changes.changes(), "updated_at": now()}.items():
            expr.set(field, to_plain(value))
        key = self._control_key(tables.DEPLOYMENT_PK, full_name)
        try:
            item = self._update(self.control, key, expr, "Update deployment")
        except ConflictError as exc:
            raise NotFoundError(
                f"Deployment {full_name!r} not found. List deployments with "
                "`pushpool deployment ls`."
            ) from exc
        return Deployment.model_validate(item)

    def delete_deployment(self, full_name: str) -> None:
        try:
            self._call(
                "delete_item",
                "Delete deployment",
                TableName=self.control,
                Key=self._control_key(tables.DEPLOYMENT_PK, full_name),
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            raise NotFoundError(f"Deployment {full_name!r} not found.") from exc

    # ---------------------------------------------------------------- task definitions
    def get_task_definition(self, content_hash: str) -> str | None:
        response = self._call(
            "get_item",
            "Read task definition",
            TableName=self.control,
            Key=self._control_key(tables.TASKDEF_PK, content_hash),
        )
        return str(from_item(response["Item"])["arn"]) if "Item" in response else None

    def put_task_definition(self, content_hash: str, arn: str) -> None:
        item = {"pk": tables.TASKDEF_PK, "sk": content_hash, "arn": arn, "created_at": iso(now())}
        self._call("put_item", "Save task definition", TableName=self.control, Item=to_item(item))
