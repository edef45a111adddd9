"""Paging cursors: opaque tokens that say where a reader stopped and what it was reading.

A cursor holds its kind (orders, events), its scope (the filters of an order list, the
channel of an event feed) and a position (the last id or seq handed out), with a check
value so that a damaged or made-up token is refused rather than read as some other place.
It is not signed: every read checks the caller's rights afresh, so a hand-made cursor can
only move a reader within what it may see anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from warehouse.errors import InvalidInput

# Positions are ids and seqs: 64-bit at most.
MAX_POSITION = 2**63 - 1
# Far longer than any cursor this module makes.
MAX_LENGTH = 200


class BadCursor(InvalidInput):
    code = "bad_cursor"


@dataclass(frozen=True)
class Cursor:
    kind: str
    scope: str
    position: int


def _check(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:12]


def write_cursor(kind: str, scope: str, position: int) -> str:
    """The token of a place in a listing."""
    body = f"{kind}:{scope}:{position}"
    token = base64.urlsafe_b64encode(f"{body}:{_check(body)}".encode()).decode()
    return token.rstrip("=")


def read_cursor(token: str, kind: str, field: str) -> Cursor:
    """The place a token names, or BadCursor (422 naming `field`) for a token that is not a
    cursor of this kind as this service writes them."""
    refused = BadCursor(
        f"{field} is not a cursor this service gave out; send the next_cursor of an answer, "
        "or leave it out to start from the beginning.",
        field=field,
    )
    if not 0 < len(token) <= MAX_LENGTH:
        raise refused
    try:
        text = base64.b64decode(token + "=" * (-len(token) % 4), b"-_", validate=True).decode()
    except (binascii.Error, ValueError):
        raise refused from None
    parts = text.split(":")
    if len(parts) != 4:
        raise refused
    their_kind, scope, position, check = parts
    body = f"{their_kind}:{scope}:{position}"
    if not hmac.compare_digest(check.encode(), _check(body).encode()) or their_kind != kind:
        raise refused
    if not position.isascii() or not position.isdigit() or int(position) > MAX_POSITION:
        raise refused
    return Cursor(kind, scope, int(position))
