"""Workers' heartbeats: the ``WORKER#<pool>`` partitions of the control table.

A pool's workers share one partition (``core.tables.worker_pk``), so a worker's IAM policy can
name it in ``dynamodb:LeadingKeys`` and reach no other pool's workers. A heartbeat is a whole-item
put by its own worker: nothing else writes it, so no condition is needed.
"""

from __future__ import annotations

from pushpool.aws.codec import to_item, to_plain
from pushpool.aws.dynamodb.base import StoreBase
from pushpool.core import tables
from pushpool.core.workers import WorkerInfo


class WorkerStore(StoreBase):
    def put_worker(self, worker: WorkerInfo) -> None:
        """Record a worker's heartbeat (or its clean stop)."""
        item = {"pk": tables.worker_pk(worker.pool), "sk": worker.name, **to_plain(worker)}
        self._call(
            "put_item", "Record worker heartbeat", TableName=self.control, Item=to_item(item)
        )

    def list_workers(self, pool: str) -> list[WorkerInfo]:
        """Every worker that has served the pool (one Query of its partition)."""
        return [WorkerInfo.model_validate(item) for item in self.worker_items(pool)]

    def delete_worker(self, pool: str, name: str) -> None:
        self._call(
            "delete_item",
            "Forget worker",
            TableName=self.control,
            Key=self._control_key(tables.worker_pk(pool), name),
        )
