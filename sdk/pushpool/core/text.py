"""Bounds on stored strings a user can make large (an exception's message, ECS's stop reason).

A run item must stay far below DynamoDB's 400 KB, and its message is stored twice (the state and
its history entry). :func:`bounded` keeps the head and the tail of a long text, where an
exception's type and its last words are, and says how much was left out; the whole text stays in
the run's logs. Pure: no I/O.
"""

from __future__ import annotations

MAX_MESSAGE_CHARS = 2_000  # a state message as stored, at most


def bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` if it has at most ``limit`` characters, else its head and tail around a marker
    saying how many characters were left out (the result has at most ``limit`` characters)."""
    if len(text) <= limit:
        return text
    marker = f" … {len(text):,} characters left out … "  # sized for the widest count
    room = max(limit - len(marker), 0)
    head = text[: room - room // 2]
    tail = text[len(text) - room // 2 :] if room // 2 else ""
    left_out = len(text) - len(head) - len(tail)
    return f"{head} … {left_out:,} characters left out … {tail}"
