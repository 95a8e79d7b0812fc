"""A small builder for DynamoDB update and condition expressions with named placeholders.

Every attribute name goes through ``#n`` placeholders (``state`` is a reserved word) and every value
through ``:v`` placeholders, so no value is ever spliced into expression text.
"""

from __future__ import annotations

from typing import Any

from pushpool.aws.codec import serialize


class Expr:
    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._sets: list[str] = []
        self._removes: list[str] = []
        self._adds: list[str] = []
        self._deletes: list[str] = []
        self._conditions: list[str] = []

    # -- placeholders ---------------------------------------------------------------------------
    def name(self, path: str) -> str:
        """'queues.default.active_runs' -> '#n0.#n1.#n2' (dots split document paths)."""
        parts = []
        for part in path.split("."):
            key = f"#n{len(self.names)}"
            for existing, value in self.names.items():
                if value == part:
                    key = existing
                    break
            self.names[key] = part
            parts.append(key)
        return ".".join(parts)

    def value(self, value: Any) -> str:
        key = f":v{len(self.values)}"
        self.values[key] = serialize(value)
        return key

    # -- update ---------------------------------------------------------------------------------
    def set(self, path: str, value: Any) -> Expr:
        self._sets.append(f"{self.name(path)} = {self.value(value)}")
        return self

    def set_raw(self, clause: str) -> Expr:
        self._sets.append(clause)
        return self

    def add_to(self, path: str, delta: int) -> Expr:
        ref = self.name(path)
        self._sets.append(f"{ref} = if_not_exists({ref}, {self.value(0)}) + {self.value(delta)}")
        return self

    def append(self, path: str, items: list[Any]) -> Expr:
        ref = self.name(path)
        empty = self.value([])
        self._sets.append(
            f"{ref} = list_append(if_not_exists({ref}, {empty}), {self.value(items)})"
        )
        return self

    def add_members(self, path: str, members: list[str]) -> Expr:
        """Put strings into a string set (created if absent)."""
        self._adds.append(f"{self.name(path)} {self._string_set(members)}")
        return self

    def delete_members(self, path: str, members: list[str]) -> Expr:
        """Take strings out of a string set (the attribute goes when the set is empty)."""
        self._deletes.append(f"{self.name(path)} {self._string_set(members)}")
        return self

    def _string_set(self, members: list[str]) -> str:
        key = f":v{len(self.values)}"
        self.values[key] = {"SS": sorted(set(members))}
        return key

    def remove(self, *paths: str) -> Expr:
        self._removes.extend(self.name(p) for p in paths)
        return self

    # -- condition ------------------------------------------------------------------------------
    def when(self, clause: str) -> Expr:
        self._conditions.append(f"({clause})")
        return self

    # -- output ---------------------------------------------------------------------------------
    def update_expression(self) -> str:
        text = ""
        if self._sets:
            text += "SET " + ", ".join(self._sets)
        if self._removes:
            text += " REMOVE " + ", ".join(self._removes)
        if self._adds:
            text += " ADD " + ", ".join(self._adds)
        if self._deletes:
            text += " DELETE " + ", ".join(self._deletes)
        return text.strip()

    def condition_expression(self) -> str | None:
        return " AND ".join(self._conditions) if self._conditions else None

    def update_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"UpdateExpression": self.update_expression()}
        condition = self.condition_expression()
        if condition:
            kwargs["ConditionExpression"] = condition
        if self.names:
            kwargs["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            kwargs["ExpressionAttributeValues"] = dict(self.values)
        return kwargs

    def condition_kwargs(self) -> dict[str, Any]:
        """For a conditional Put or Delete: the condition and its placeholders only."""
        kwargs: dict[str, Any] = {}
        condition = self.condition_expression()
        if condition:
            kwargs["ConditionExpression"] = condition
        if self.names:
            kwargs["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            kwargs["ExpressionAttributeValues"] = dict(self.values)
        return kwargs
