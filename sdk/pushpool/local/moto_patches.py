"""A patch to moto for the local emulator: ``TransactWriteItems`` without whole-table copies.

moto 5.2 deep-copies every table a transaction touches before applying it (to roll back on
failure), so each claim (run + pool slot, one transaction) costs O(runs stored): about 5 claims/s
with a few hundred runs stored, slower with every run. The patched version keeps moto's semantics
(every condition checked against the state before the transaction; all or nothing; the same
``CancellationReasons``) but backs up only the items the transaction touches. Applied by
``pushpool.local.server.start_server``; never used outside the emulator.
"""

from __future__ import annotations

import copy
from typing import Any

_patched: dict[str, Any] = {}


def patch_transactions() -> None:
    """TransactWriteItems backing up the touched items instead of deep-copying whole tables."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    if "transact" in _patched:
        return
    _patched["transact"] = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        seen: set[tuple[str, str]] = set()
        errors: list[tuple[Any, Any, Any]] = []
        plan: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        # phase 1: every condition against the state before the transaction, nothing written
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            original_item = None
            try:
                op_type, op = next(iter(entry.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table = self.get_table(op["TableName"])
                if op_type == "Put":
                    attrs = op["Item"]
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
                if marker in seen:
                    raise MultipleTransactionsException()
                seen.add(marker)
                current = self.get_item(op["TableName"], key)
                condition = op.get("ConditionExpression")
                if condition is not None:
                    check = get_filter_expression(
                        condition,
                        op.get("ExpressionAttributeNames"),
                        op.get("ExpressionAttributeValues"),
                    )
                    if not check.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)
                errors.append((None, None, None))
                plan.append((op_type, op, key))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as exc:
                errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
            except Exception as exc:
                errors.append((type(exc).__name__, str(exc), original_item))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        # phase 2: apply, restoring only the touched items (and stream lengths) on failure
        backups = []
        for _, op, key in plan:
            table = self.get_table(op["TableName"])
            hash_key, range_key = self.get_keys_value(table, key)
            shard = table.stream_shard
            backups.append(
                (
                    table,
                    hash_key,
                    range_key,
                    copy.deepcopy(table.get_item(hash_key, range_key)),
                    len(shard.items) if shard is not None else 0,
                )
            )
        try:
            for op_type, op, key in plan:
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(op["TableName"], op["Item"], overwrite=True)
                elif op_type == "Delete":
                    self.delete_item(op["TableName"], key, names, values)
                elif op_type == "Update":
                    self.update_item(op["TableName"], key, op["UpdateExpression"], names, values)
        except Exception as exc:
            for table, hash_key, range_key, item, length in reversed(backups):
                if range_key is not None:
                    if item is None:
                        table.items[hash_key].pop(range_key, None)
                    else:
                        table.items[hash_key][range_key] = item
                elif item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item
                if table.stream_shard is not None:
                    del table.stream_shard.items[length:]
            if isinstance(exc, MockValidationException):
                raise
            raise TransactionCanceledException([(type(exc).__name__, str(exc), None)]) from exc

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def unpatch_transactions() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    original = _patched.pop("transact", None)
    if original is not None:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
