"""A channel's events read by cursor, for platforms that poll instead of taking pushes.

A pull is independent of delivery: every event of the channel is read, whatever its push
status, in `seq` order. Positions are given to committed events just before reading
(outbox.sequence), so a reader never waits for a deliverer to have placed them, and an
event committed late is placed after every cursor already handed out, never behind one.
The cursor names the channel by id: a renamed channel's pollers keep their place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from warehouse import outbox
from warehouse.channels import Served, get_channel
from warehouse.cursors import read_cursor, write_cursor
from warehouse.errors import InvalidInput
from warehouse.models import ChannelEvent

MAX_PAGE = 1000
DEFAULT_PAGE = 100
CURSOR_KIND = "events"


class CursorOfAnotherChannel(InvalidInput):
    code = "cursor_of_another_channel"


@dataclass(frozen=True)
class EventPage:
    # Each as outbox.event_json gives it, oldest first.
    events: list[dict[str, Any]]
    # Never None: the place after the last event given, or the one asked from.
    next_cursor: str


def pull_events(
    session: Session,
    sessions: sessionmaker[Session],
    channel_code: str,
    after: str | None = None,
    limit: int = DEFAULT_PAGE,
    served: Served = None,
) -> EventPage:
    """The channel's events after the cursor's place (from the first without one).

    `session` is the caller's, for the checks; events waiting for a place get theirs in a
    write transaction of their own from `sessions`, and the page is read in a fresh one,
    which sees the places just given (a read transaction begun before, as on SQLite, would
    not)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}", field="limit")
    channel = get_channel(session, channel_code, served)
    channel_id, code = channel.id, channel.code
    position = 0
    if after is not None:
        place = read_cursor(after, CURSOR_KIND, "after")
        if place.scope != str(channel_id):
            raise CursorOfAnotherChannel(
                f"This cursor reads another channel's events, not those of {code}.",
                field="after",
            )
        position = place.position
    # Only when some of this channel's events wait for a place (found by the channel's own
    # index): a write transaction on SQLite holds the one write lock, polls come often.
    waiting = session.scalar(
        select(ChannelEvent.id)
        .where(ChannelEvent.channel_id == channel_id, ChannelEvent.seq.is_(None))
        .limit(1)
    )
    if waiting is not None:
        outbox.place(sessions)
    with sessions() as reading:
        rows = list(
            reading.scalars(
                select(ChannelEvent)
                .where(ChannelEvent.channel_id == channel_id, ChannelEvent.seq > position)
                .order_by(ChannelEvent.seq)
                .limit(limit)
            )
        )
        events = [outbox.event_json(row, code) for row in rows]
    if not rows:
        return EventPage([], after or write_cursor(CURSOR_KIND, str(channel_id), 0))
    last = rows[-1].seq
    assert last is not None
    return EventPage(events, write_cursor(CURSOR_KIND, str(channel_id), last))
