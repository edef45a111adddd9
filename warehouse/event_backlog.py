"""Each channel's pushed events as a supervisor sees them: how many wait to be sent and since
when, how many are failing and why, how many died (retried for as long as warehouse.delivery
allows) and were delivered; and dead events replayed, sent again with their own ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from warehouse.channels import get_channel, list_channels
from warehouse.db import rows_changed
from warehouse.delivery import WAITING, wake_once_committed
from warehouse.errors import Conflict, NotFound
from warehouse.models import Channel, ChannelEvent, EventStatus, utcnow

# The failing and dead events listed with a channel's figures, newest first.
LATEST = 20


@dataclass(frozen=True)
class ChannelBacklog:
    channel: str
    name: str
    events_url: str | None
    # Waiting to be sent, or being sent, and how long the oldest of them has waited.
    pending: int
    oldest_pending_s: int | None
    # Of those, the ones whose last try failed.
    failing: int
    dead: int
    delivered: int
    # The latest failing and dead events, each with its last error.
    events: list[ChannelEvent]


def _failing() -> ColumnElement[bool]:
    return ChannelEvent.status.in_(WAITING) & (ChannelEvent.last_error != "")


def _problems(session: Session, channel_id: int, limit: int) -> list[ChannelEvent]:
    return list(
        session.scalars(
            select(ChannelEvent)
            .where(
                ChannelEvent.channel_id == channel_id,
                or_(ChannelEvent.status == EventStatus.DEAD, _failing()),
            )
            .order_by(ChannelEvent.id.desc())
            .limit(limit)
        )
    )


def backlogs(
    session: Session, channels: Sequence[Channel], latest: int = LATEST
) -> list[ChannelBacklog]:
    """The figures of these channels' pushed events, with their latest failing and dead."""
    ids = [channel.id for channel in channels]
    counts: dict[tuple[int, EventStatus], tuple[int, int, datetime | None]] = {}
    for channel_id, status, events, failing, oldest in session.execute(
        select(
            ChannelEvent.channel_id,
            ChannelEvent.status,
            func.count(),
            func.sum(case((ChannelEvent.last_error != "", 1), else_=0)),
            func.min(ChannelEvent.created_at),
        )
        .where(ChannelEvent.channel_id.in_(ids), ChannelEvent.status != EventStatus.PULL)
        .group_by(ChannelEvent.channel_id, ChannelEvent.status)
    ):
        counts[channel_id, status] = (events, int(failing or 0), oldest)
    now = utcnow()
    out = []
    for channel in channels:
        waiting = [counts.get((channel.id, status), (0, 0, None)) for status in WAITING]
        started = [oldest for _, _, oldest in waiting if oldest is not None]
        out.append(
            ChannelBacklog(
                channel=channel.code,
                name=channel.name,
                events_url=channel.events_url,
                pending=sum(events for events, _, _ in waiting),
                oldest_pending_s=int((now - min(started)).total_seconds()) if started else None,
                failing=sum(failing for _, failing, _ in waiting),
                dead=counts.get((channel.id, EventStatus.DEAD), (0, 0, None))[0],
                delivered=counts.get((channel.id, EventStatus.DELIVERED), (0, 0, None))[0],
                events=_problems(session, channel.id, latest),
            )
        )
    return out


def channel_backlog(session: Session, code: str) -> ChannelBacklog:
    """One channel's figures (NotFound for an unknown channel)."""
    return backlogs(session, [get_channel(session, code)])[0]


def every_backlog(session: Session, latest: int = 5) -> list[ChannelBacklog]:
    """Every channel's figures, served-first first."""
    return backlogs(session, list_channels(session), latest)


def replay(session: Session, code: str, event_ids: Sequence[str] | None = None) -> int:
    """Dead events of a channel (all of them, or these) sent again: pending at once, their
    tries counted afresh, with the ids they had. Returns how many; an id named that is dead
    no longer (replayed already, say) is left as it is. An id that is not one of the
    channel's events is refused, and nothing is replayed."""
    channel = get_channel(session, code)
    if not channel.events_url:
        raise Conflict(
            f"Channel {code} has no events URL: its events are read by cursor, not sent. "
            "Set its events URL first.",
            code="no_events_url",
        )
    chosen: ColumnElement[bool] = ChannelEvent.status == EventStatus.DEAD
    if event_ids is not None:
        known = set(
            session.scalars(
                select(ChannelEvent.event_id).where(
                    ChannelEvent.channel_id == channel.id, ChannelEvent.event_id.in_(event_ids)
                )
            )
        )
        unknown = [event_id for event_id in event_ids if event_id not in known]
        if unknown:
            raise NotFound(
                f"Channel {code} has no event {unknown[0]}.", code="unknown_event", field="events"
            )
        chosen = and_(chosen, ChannelEvent.event_id.in_(event_ids))
    replayed = rows_changed(
        session,
        update(ChannelEvent)
        .where(ChannelEvent.channel_id == channel.id, chosen)
        .values(
            status=EventStatus.PENDING,
            attempts=0,
            next_try_at=utcnow(),
            last_error="",
            lease_until=None,
        ),
    )
    if replayed:
        wake_once_committed(session)
    return replayed
