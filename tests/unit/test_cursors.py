"""Paging cursors: what one names comes back whole, and anything else is refused as
bad_cursor naming the field, never read as some other place."""

from __future__ import annotations

import base64
import hashlib

import pytest

from warehouse.cursors import MAX_POSITION, BadCursor, Cursor, read_cursor, write_cursor


@pytest.mark.parametrize("position", [0, 1, 2**31 - 1, MAX_POSITION])
def test_a_cursor_names_its_place(position: int) -> None:
    token = write_cursor("events", "17", position)
    assert token.isascii() and "=" not in token
    assert read_cursor(token, "events", "after") == Cursor("events", "17", position)


def forged(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


GOOD = write_cursor("orders", "0123abcd", 41)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        "A" * 201,
        "####",
        "ö" * 8,
        GOOD[:-1],
        GOOD + "AAAA",
        GOOD[:-2] + ("A" if GOOD[-2] != "A" else "B") + GOOD[-1],
        forged("orders:0123abcd:41"),
        forged("orders:0123abcd:41:000000000000"),
        # Made as the service makes them, but of another kind.
        write_cursor("events", "0123abcd", 41),
    ],
)
def test_anything_else_is_refused(token: str) -> None:
    with pytest.raises(BadCursor) as refused:
        read_cursor(token, "orders", "cursor")
    assert refused.value.code == "bad_cursor" and refused.value.field == "cursor"
    assert refused.value.status == 422


@pytest.mark.parametrize("position", [str(MAX_POSITION + 1), "-1", "1.0", "٣"])
def test_a_checked_cursor_whose_position_is_no_place_is_refused(position: str) -> None:
    body = f"orders:s:{position}"
    check = hashlib.sha256(body.encode()).hexdigest()[:12]
    with pytest.raises(BadCursor):
        read_cursor(forged(f"{body}:{check}"), "orders", "cursor")
