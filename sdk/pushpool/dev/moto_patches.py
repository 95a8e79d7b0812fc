"""Patches to moto for the local emulator: the same answers, without moto's avoidable work.

1. ``TransactWriteItems`` without whole-table copies. moto 5.2 deep-copies every table a
   transaction touches before applying it (to roll back on failure), so each claim (run + pool
   slot, one transaction) costs O(runs stored): about 5 claims/s with a few hundred runs stored,
   slower with every run. The patched version keeps moto's semantics (every condition checked
   against the state before the transaction; all or nothing; the same ``CancellationReasons``)
   but backs up only the items the transaction touches, with a plain structural copy.
2. Update expressions parsed once per text. moto parses an ``UpdateExpression`` into a syntax
   tree on every write (twice per item of a transaction: once to validate the request, once to
   apply it), and that parse is a third of a write's cost. The tree is a pure function of the
   text and moto never changes it (its validator works on a deep copy), so parses are cached.
3. Stored items copied structurally. moto deep-copies an item on every write (the stream's old
   image) with the generic ``copy.deepcopy``; items get a ``__deepcopy__`` that builds the same
   independent copy directly.
4. Index projections converting each item once. moto's ``Item.project`` converts the whole item
   to plain JSON once per projected attribute: a due-index Query of 1,000 runs took 1.8 s.
5. Expression trees copied node by node. moto's validator deep-copies the parsed update
   expression on every write with the generic ``copy.deepcopy``, half of its validation time.
6. Item results sent as the JSON they are. moto's response serializer walks every result
   against botocore's shapes value by value; for item operations the result is already wire
   JSON (:func:`patch_item_responses`).
7. ECS tasks that keep their status. In-process, moto moves a task to STOPPED the first time
   DescribeTasks reads it; a Fargate task stays RUNNING until it stops (StopTask here), which
   is what the reconciler compares runs with (:func:`patch_task_status`).

Applied by ``pushpool.dev.server.start_server`` (:func:`patch_all`); never used outside the
emulator.
"""

from __future__ import annotations

import base64
import copy
import functools
import importlib
import json
from typing import Any

_patched: dict[str, Any] = {}


def active() -> bool:
    """Whether any of these patches is applied (they are process-wide)."""
    return bool(_patched)


def patch_all() -> None:
    patch_transactions()
    patch_update_parser()
    patch_item_copies()
    patch_item_projection()
    patch_tree_copies()
    patch_item_responses()
    patch_task_status()


def unpatch_all() -> None:
    unpatch_transactions()
    unpatch_update_parser()
    unpatch_item_copies()
    unpatch_item_projection()
    unpatch_tree_copies()
    unpatch_item_responses()
    unpatch_task_status()


def patch_task_status() -> None:
    """A task's lastStatus moves only when something moves it (StopTask), as on Fargate."""
    from moto.moto_api import state_manager

    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 2**62})
    _patched["task_status"] = True


def unpatch_task_status() -> None:
    if _patched.pop("task_status", None):
        from moto.moto_api import state_manager

        state_manager.unset_transition("ecs::task")


# DynamoDB operations whose results are items and counts: already the JSON they are sent as
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def patch_item_responses() -> None:
    """Item results written as the JSON they already are. moto's response serializer walks
    each result against the operation's botocore shapes, value by value: a Query of a few
    items with nested attributes spent most of its time there (0.46 s for 15 runs). Item
    results hold only strings, numbers, booleans, lists, maps and bytes (base64, as the
    serializer writes them); any other operation keeps moto's serializer."""
    if "responses" in _patched:
        return
    results = importlib.import_module("moto.dynamodb.responses")
    core = importlib.import_module("moto.core.responses")
    original = results.DynamoResult.execute_result
    _patched["responses"] = original

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name not in ITEM_OPERATIONS:
            return original(self, context)
        status, headers, _ = original(core.ActionResult({}), context)  # moto's own headers
        return status, headers, json.dumps(self.result, default=_wire_value)

    results.DynamoResult.execute_result = execute_result


def unpatch_item_responses() -> None:
    original = _patched.pop("responses", None)
    if original is not None:
        importlib.import_module("moto.dynamodb.responses").DynamoResult.execute_result = original


def _wire_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"Cannot send a {type(value).__name__} in a DynamoDB item result")


def patch_tree_copies() -> None:
    """The copy of a parsed update expression moto's validator takes on every write, built
    node by node (children, parents re-linked) instead of by the generic ``copy.deepcopy``."""
    if "trees" in _patched:
        return
    validators = importlib.import_module("moto.dynamodb.parsing.validators")
    node_class = importlib.import_module("moto.dynamodb.parsing.ast_nodes").Node
    _patched["trees"] = vars(validators)["deepcopy"]

    def copy_tree(node: Any, parent: Any) -> Any:
        clone = object.__new__(type(node))
        clone.__dict__.update(node.__dict__)
        clone.parent = parent
        if isinstance(node.children, list):
            clone.children = [
                copy_tree(child, clone) if isinstance(child, node_class) else copy.deepcopy(child)
                for child in node.children
            ]
        return clone

    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, node_class) and value.parent is None:  # a whole tree
            return copy_tree(value, None)
        return copy.deepcopy(value, memo)

    vars(validators)["deepcopy"] = deepcopy


def unpatch_tree_copies() -> None:
    original = _patched.pop("trees", None)
    if original is not None:
        vars(importlib.import_module("moto.dynamodb.parsing.validators"))["deepcopy"] = original


def patch_item_projection() -> None:
    """``Item.project`` (every item an index Query returns) converting the item once, not once
    per projected attribute; each attribute picked is copied, so nothing is shared."""
    if "projection" in _patched:
        return
    module = importlib.import_module("moto.dynamodb.models.dynamo_type")
    item_class = module.Item
    _patched["projection"] = vars(item_class)["project"]

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        regular = self.to_regular_json()
        result: dict[str, Any] = {}
        for expression in projection_expressions:
            picked = module.find_nested_key(expression, regular)
            module.merge_dicts(result, copy.deepcopy(picked))
        return item_class(
            hash_key=self.hash_key,
            range_key=self.range_key,
            attrs=module.serializer.serialize(result)["M"],
        )

    item_class.project = project


def unpatch_item_projection() -> None:
    original = _patched.pop("projection", None)
    if original is not None:
        _moto("moto.dynamodb.models.dynamo_type", "Item").project = original


def _moto(module: str, name: str) -> Any:
    """A class of moto's, untyped (some of moto's modules are not type-checked)."""
    return vars(importlib.import_module(module))[name]


def patch_item_copies() -> None:
    """``copy.deepcopy`` of a stored item (moto takes one on every write, for the stream's old
    image) by :func:`_copy_item` instead of the generic machinery."""
    if "copies" in _patched:
        return
    _patched["copies"] = True
    types = "moto.dynamodb.models.dynamo_type"
    _moto(types, "Item").__deepcopy__ = lambda self, memo: _copy_item(self)
    _moto(types, "DynamoType").__deepcopy__ = lambda self, memo: _copy_value(self)


def unpatch_item_copies() -> None:
    if _patched.pop("copies", None):
        types = "moto.dynamodb.models.dynamo_type"
        del _moto(types, "Item").__deepcopy__
        del _moto(types, "DynamoType").__deepcopy__


def patch_update_parser() -> None:
    """Cache ``UpdateExpressionParser.make`` by expression text (the tree is never mutated)."""
    if "parser" in _patched:
        return
    parser = _moto("moto.dynamodb.parsing.expressions", "UpdateExpressionParser")
    original = vars(parser)["make"]
    _patched["parser"] = original
    make = original.__func__

    @functools.lru_cache(maxsize=512)
    def parse_text(expression_str: str) -> Any:
        return make(parser, expression_str)

    def parse(cls: Any, expression_str: str) -> Any:
        return parse_text(expression_str) if cls is parser else make(cls, expression_str)

    parser.make = classmethod(parse)


def unpatch_update_parser() -> None:
    original = _patched.pop("parser", None)
    if original is not None:
        _moto("moto.dynamodb.parsing.expressions", "UpdateExpressionParser").make = original


def _copy_item(item: Any) -> Any:
    """An independent copy of a moto ``Item``: what ``copy.deepcopy`` gives, several times faster
    (no memo, and no size check per attribute as ``Item()`` does)."""
    if item is None:
        return None
    clone = copy.copy(item)
    attrs = type(item.attrs)()
    dict.update(attrs, {key: _copy_value(value) for key, value in item.attrs.items()})
    clone.attrs = attrs
    return clone


def _copy_value(value: Any) -> Any:
    """A moto ``DynamoType`` (just ``type`` and ``value``; lists and maps hold more of them)."""
    clone = object.__new__(type(value))
    clone.type = value.type
    inner = value.value
    if isinstance(inner, list):
        inner = [_copy_value(v) if hasattr(v, "type") else v for v in inner]
    elif isinstance(inner, dict):
        inner = {k: _copy_value(v) for k, v in inner.items()}
    clone.value = inner
    return clone


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
                    _copy_item(table.get_item(hash_key, range_key)),
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
