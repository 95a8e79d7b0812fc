"""Stored messages are bounded: head and tail kept, the amount left out said."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pushpool.core.text import MAX_MESSAGE_CHARS, bounded


def test_a_short_message_is_kept_whole() -> None:
    assert bounded("ValueError: boom") == "ValueError: boom"


def test_a_long_message_keeps_its_head_and_tail_and_says_what_was_left_out() -> None:
    text = "ValueError: " + "x" * 300_000 + " the end"

    short = bounded(text)

    assert len(short) <= MAX_MESSAGE_CHARS
    assert short.startswith("ValueError: xxx")
    assert short.endswith("xxx the end")
    kept = len(short) - len(short.split(" … ")[1]) - 2 * len(" … ")
    assert f" … {len(text) - kept:,} characters left out … " in short


@given(st.text(max_size=300), st.integers(min_value=60, max_value=200))
def test_never_longer_than_the_limit(text: str, limit: int) -> None:
    short = bounded(text, limit)
    assert len(short) <= limit
    if len(text) > limit:
        head = short.partition(" … ")[0]
        assert text.startswith(head)
        assert text.endswith(short.rsplit(" … ", 1)[1])
    else:
        assert short == text
