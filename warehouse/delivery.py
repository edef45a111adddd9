"""Each channel's events pushed to its events URL: POSTed as JSON signed by the Standard
Webhooks convention, at least once, in order per order (and per SKU), with the same id and
the same body on every try, retried with backoff for at least a day, then parked as dead
until a supervisor replays them (warehouse.event_backlog).

An event is claimed for sending by a conditional UPDATE (pending -> sending, with a lease and
its try number), so that of the service's workers and servers only one sends it at a time,
and what came of a send is recorded only on the claim that made it. The lease is renewed
while the send is alive; an event whose sender died mid-send goes back to pending once it
runs out, and is sent again, id and all: a receiver may hear of an event twice, never not.

In order: an event is due only while no earlier event (by seq) of its channel and its order,
or its SKU, is pending or being sent, so a receiver never hears of a shipment before the
order's acceptance. The sender (warehouse.event_sender) sends several events at once;
while other channels' events wait, a receiver that hangs holds at most half of its
senders, so theirs keep going.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import ColumnElement, Row, Select, bindparam, event, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased, sessionmaker
from sqlalchemy.orm.session import SessionTransaction

from warehouse import outbox
from warehouse.config import EventsConfig
from warehouse.db import writing
from warehouse.event_push import Pushed, push_event
from warehouse.models import Channel, ChannelEvent, EventStatus, utcnow

log = logging.getLogger(__name__)

DEFAULT_TIMING = EventsConfig()
# Events that hold back the later events of their order or SKU.
WAITING = (EventStatus.PENDING, EventStatus.SENDING)
# What an event whose sender stopped renewing its lease says until it is sent again.
LAPSED = "The server sending it stopped before the channel answered: it is sent again."

# Set when a transaction of this process that wrote events (or replayed some) commits, so
# its dispatcher sends them now rather than at its next poll.
_wake = threading.Event()
_NEW_EVENTS = "delivery.new_events"


@event.listens_for(Session, "after_flush")
def _note_new_events(session: Session, _context: Any) -> None:
    if any(isinstance(obj, ChannelEvent) for obj in session.new):
        session.info[_NEW_EVENTS] = True


def wake_once_committed(session: Session) -> None:
    """Have this process's dispatcher look for due events once the transaction commits."""
    session.info[_NEW_EVENTS] = True


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    # A savepoint's release is not the commit: woken then, the dispatcher would look too soon.
    if not session.in_nested_transaction() and session.info.pop(_NEW_EVENTS, False):
        _wake.set()


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Rolled back, the events were never written.
    if transaction.parent is None:
        session.info.pop(_NEW_EVENTS, None)


@dataclass(frozen=True)
class Claim:
    """An event taken for sending by one try, with everything its send needs."""

    id: int
    attempt: int
    channel_id: int
    event_id: str
    url: str
    secret: str
    body: bytes
    created_at: datetime


def backoff(attempts: int, timing: EventsConfig = DEFAULT_TIMING) -> timedelta:
    """How long after failed try number `attempts` the next one is made."""
    seconds = timing.first_retry_s * 2 ** min(max(0, attempts - 1), 40)
    return timedelta(seconds=min(timing.last_retry_s, seconds))


def gives_up(claim: Claim, now: datetime, timing: EventsConfig = DEFAULT_TIMING) -> bool:
    """Whether a failed try is the last: the event is give_up_h old and has been retried for
    that long (since it was written, or since it was replayed)."""
    give_up = timedelta(hours=timing.give_up_h)
    if now - claim.created_at < give_up:
        return False
    retried = timedelta(0)
    for attempts in range(1, claim.attempt):
        retried += backoff(attempts, timing)
        if retried >= give_up:
            return True
    return False


def _first_in_line() -> ColumnElement[bool]:
    """No earlier event of the same order, or of the same channel and SKU, is waiting or
    being sent. Each lookup is one index's, so it reads a handful of rows, statistics or not."""
    earlier = aliased(ChannelEvent)
    # `seq + 0`: SQLite would otherwise read the index of (channel, seq), every earlier
    # event of the channel, rather than those of the event's order or SKU.
    before = earlier.seq + 0 < ChannelEvent.seq
    # An order's events are all its channel's, and few: the order alone finds them.
    done = (EventStatus.DELIVERED, EventStatus.DEAD, EventStatus.PULL)
    same_order = select(earlier.id).where(
        earlier.order_id == ChannelEvent.order_id, earlier.status.not_in(done), before
    )
    same_sku = [
        select(earlier.id).where(
            earlier.channel_id == ChannelEvent.channel_id,
            earlier.product_id == ChannelEvent.product_id,
            earlier.status == status,
            before,
        )
        for status in WAITING
    ]
    return ~same_order.exists() & ~same_sku[0].exists() & ~same_sku[1].exists()


# Made once: building it is a good part of a pass's time.
FIRST_IN_LINE = _first_in_line()


def due_events(now: datetime, skip: Collection[int] = (), limit: int = 50) -> Select[int, int]:
    """(id, channel id) of events to send now, oldest due first: pending and placed, their
    time come, their channel with an events URL, and first in line of their order or SKU.
    Channels in `skip` are left out (their receiver has its share of senders already)."""
    query = (
        select(ChannelEvent.id, ChannelEvent.channel_id)
        .join(Channel, Channel.id == ChannelEvent.channel_id)
        .where(
            ChannelEvent.status == EventStatus.PENDING,
            ChannelEvent.next_try_at <= now,
            ChannelEvent.seq.is_not(None),
            Channel.events_url.is_not(None),
            Channel.events_url != "",
            FIRST_IN_LINE,
        )
        .order_by(ChannelEvent.next_try_at)
        .limit(limit)
    )
    return query.where(ChannelEvent.channel_id.not_in(list(skip))) if skip else query


def claim(
    session: Session, ids: Collection[int], now: datetime, lease: timedelta
) -> list[tuple[int, int]]:
    """Take these events for sending if they are still due; (id, try number) of each taken.
    The try number names the claim: only it records what came of the send."""
    if not ids:
        return []
    taken = session.execute(
        update(ChannelEvent)
        .where(
            ChannelEvent.id.in_(list(ids)),
            ChannelEvent.status == EventStatus.PENDING,
            ChannelEvent.next_try_at <= now,
            FIRST_IN_LINE,
        )
        .values(
            status=EventStatus.SENDING,
            lease_until=now + lease,
            attempts=ChannelEvent.attempts + 1,
        )
        .returning(ChannelEvent.id, ChannelEvent.attempts),
        execution_options={"synchronize_session": False},
    )
    return [(row.id, row.attempts) for row in taken]


def claims_of(session: Session, taken: list[tuple[int, int]]) -> list[Claim]:
    """What each send needs, read in the claiming transaction. The body is made from what
    is stored, so every try sends the same bytes."""
    attempts = dict(taken)
    rows = session.execute(
        select(ChannelEvent, Channel.code, Channel.events_url, Channel.webhook_secret)
        .join(Channel, Channel.id == ChannelEvent.channel_id)
        .where(ChannelEvent.id.in_(list(attempts)))
        .order_by(ChannelEvent.seq)
    )
    claims = []
    for row, code, url, secret in rows:
        body = json.dumps(outbox.event_json(row, code)).encode()
        held = (row.id, attempts[row.id], row.channel_id, row.event_id)
        claims.append(Claim(*held, url or "", secret, body, row.created_at))
    return claims


def _lapsed(now: datetime) -> ColumnElement[bool]:
    return (ChannelEvent.status == EventStatus.SENDING) & (ChannelEvent.lease_until < now)


def requeue_lapsed(session: Session, now: datetime) -> None:
    """Events whose sender stopped renewing its lease (it died, or hung) are sent again."""
    session.execute(
        update(ChannelEvent)
        .where(_lapsed(now))
        .values(status=EventStatus.PENDING, lease_until=None, next_try_at=now, last_error=LAPSED),
        execution_options={"synchronize_session": False},
    )


def renew(session: Session, taken: list[tuple[int, int]], until: datetime) -> None:
    """Keep these claims (sends still alive) from being taken for dead ones."""
    session.execute(
        update(ChannelEvent)
        .where(
            tuple_(ChannelEvent.id, ChannelEvent.attempts).in_(taken),
            ChannelEvent.status == EventStatus.SENDING,
        )
        .values(lease_until=until),
        execution_options={"synchronize_session": False},
    )


def record(
    session: Session,
    outcomes: Sequence[tuple[Claim, Pushed]],
    now: datetime,
    timing: EventsConfig = DEFAULT_TIMING,
) -> None:
    """What came of sends, each on the event its claim still holds. A delivery counts even
    if the event went back to pending meanwhile for a lapsed lease (no one else took it)."""
    delivered = [claim for claim, outcome in outcomes if outcome.delivered]
    if delivered:
        session.connection().execute(
            update(ChannelEvent)
            .where(
                ChannelEvent.id == bindparam("i"),
                ChannelEvent.attempts == bindparam("a"),
                # Spelled out: an IN list cannot be expanded in an executemany.
                or_(
                    ChannelEvent.status == EventStatus.SENDING,
                    ChannelEvent.status == EventStatus.PENDING,
                ),
            )
            .values(status=EventStatus.DELIVERED, delivered_at=now, last_error="", lease_until=None)
            .execution_options(synchronize_session=False),
            [{"i": claim.id, "a": claim.attempt} for claim in delivered],
        )
    for claim, outcome in outcomes:
        if outcome.delivered:
            continue
        values: dict[str, Any] = {"lease_until": None, "last_error": outcome.error}
        if gives_up(claim, now, timing):
            values.update(status=EventStatus.DEAD)
        else:
            values.update(
                status=EventStatus.PENDING, next_try_at=now + backoff(claim.attempt, timing)
            )
        session.execute(
            update(ChannelEvent)
            .where(
                ChannelEvent.id == claim.id,
                ChannelEvent.attempts == claim.attempt,
                ChannelEvent.status == EventStatus.SENDING,
            )
            .values(values),
            execution_options={"synchronize_session": False},
        )


class Dispatcher:
    """A process's sender of due events. A pass records what came of finished sends and
    claims due events (up to `senders` x 4 held) in one transaction; they are sent `senders`
    at a time, each in a thread (a greenlet when served), with no database work between. A
    channel holds half of them at most, and half the senders while another channel waits."""

    def __init__(self, factory: sessionmaker[Session], timing: EventsConfig = DEFAULT_TIMING):
        self.factory, self.timing = factory, timing
        self.lease = timedelta(seconds=timing.lease_s)
        self.capacity = 4 * timing.senders
        self.client = httpx.Client(
            timeout=timing.timeout_s,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=timing.senders),
        )
        self.lock = threading.Lock()
        # Claims held (waiting for a sender, or being sent), by event row id, with when taken.
        self.held: dict[int, tuple[Claim, float]] = {}
        self.waiting: deque[Claim] = deque()
        self.flying: Counter[int] = Counter()
        self.finished: list[tuple[Claim, Pushed]] = []
        self.renewed = time.monotonic()

    def close(self) -> None:
        self.client.close()

    def _start_sends(self) -> None:
        """Start waiting claims while senders are free (under the lock). A channel has more
        than half the senders only while no other channel's event waits for one."""
        half = max(1, self.timing.senders // 2)
        while self.waiting and self.flying.total() < self.timing.senders:
            alone = len({claim.channel_id for claim in self.waiting}) == 1
            claim = next(
                (c for c in self.waiting if alone or self.flying[c.channel_id] < half), None
            )
            if claim is None:
                return
            self.waiting.remove(claim)
            self.flying[claim.channel_id] += 1
            threading.Thread(
                target=self._send, args=(claim,), name=f"event-{claim.id}", daemon=True
            ).start()

    def _send(self, claim: Claim) -> None:
        pushed = push_event(
            self.client, claim.url, claim.secret, claim.event_id, claim.body, self.timing.timeout_s
        )
        with self.lock:
            self.finished.append((claim, pushed))
            self.flying[claim.channel_id] -= 1
            self._start_sends()
        _wake.set()

    def idle(self) -> bool:
        with self.lock:
            return len(self.finished) == len(self.held)

    def _to_renew(self, clock: float) -> list[tuple[int, int]]:
        third = self.lease.total_seconds() / 3
        if clock - self.renewed < third:
            return []
        return [(c.id, c.attempt) for c, taken in self.held.values() if clock - taken > third]

    def _choose(self, due: Sequence[Row[int, int]], free: int, busy: Counter[int]) -> list[int]:
        chosen: list[int] = []
        for event_id, channel_id in due:
            if len(chosen) < free and busy[channel_id] < self.capacity // 2:
                busy[channel_id] += 1
                chosen.append(event_id)
        return chosen

    def step(self, take: bool = True) -> int:
        """One pass; returns how many events were recorded as delivered."""
        with self.lock:
            finished = list(self.finished)
        now, clock = utcnow(), time.monotonic()
        done = {claim.id for claim, _ in finished}
        busy = Counter(c.channel_id for i, (c, _) in self.held.items() if i not in done)
        free = self.capacity - busy.total() if take else 0
        full = [channel for channel, held in busy.items() if held >= self.capacity // 2]
        with self.factory() as session:
            unplaced = session.scalar(
                # In id order, so the index of events without a position is used.
                select(ChannelEvent.id)
                .where(ChannelEvent.seq.is_(None))
                .order_by(ChannelEvent.id)
                .limit(1)
            )
            lapsed = session.scalar(select(ChannelEvent.id).where(_lapsed(now)).limit(1))
            # Events just placed may be due too: looked for in the claiming transaction.
            due = unplaced is not None or (
                free > 0 and session.execute(due_events(now, full, 1)).first() is not None
            )
        if unplaced is not None:
            outbox.place(self.factory)
        renewing = self._to_renew(clock)
        claims: list[Claim] = []
        if finished or lapsed is not None or (due and free > 0) or renewing:
            with writing(self.factory) as session:
                outbox.give_way(session)
                record(session, finished, now, self.timing)
                if lapsed is not None:
                    requeue_lapsed(session, now)
                if renewing:
                    renew(session, renewing, now + self.lease)
                if due and free > 0:
                    candidates = session.execute(due_events(now, full, 4 * free)).all()
                    chosen = self._choose(candidates, free, busy)
                    claims = claims_of(session, claim(session, chosen, now, self.lease))
        if renewing:
            self.renewed = clock
        with self.lock:
            del self.finished[: len(finished)]
            for gone in done:
                self.held.pop(gone, None)
            for taken in claims:
                self.held[taken.id] = (taken, clock)
            self.waiting.extend(claims)
            self._start_sends()
        return sum(pushed.delivered for _, pushed in finished)


def dispatch(factory: sessionmaker[Session], timing: EventsConfig = DEFAULT_TIMING) -> int:
    """One pass to its end (up to `senders` x 4 events); returns how many were delivered."""
    dispatcher = Dispatcher(factory, timing)
    try:
        dispatcher.step()
        while not dispatcher.idle():
            _wake.wait(0.05)
        return dispatcher.step(take=False)
    finally:
        dispatcher.close()


def run_dispatcher(
    factory: sessionmaker[Session],
    stop: threading.Event,
    timing: EventsConfig = DEFAULT_TIMING,
    every_s: float = 0.5,
    gap_s: float = 0.1,
) -> None:
    """Send due events until stopped: when woken (an event written or a send finished in
    this process), else every `every_s` (events other processes wrote, failed ones after
    their backoff). Passes are `gap_s` apart at least, so a burst of wake-ups makes one pass
    for many events: the worker and the write lock go to taking orders meanwhile."""
    dispatcher = Dispatcher(factory, timing)
    try:
        while not stop.is_set():
            started = time.monotonic()
            _wake.clear()
            try:
                dispatcher.step()
            except Exception as error:  # a bad pass (database busy, say) must not end it
                if not outbox.gave_way(error):
                    log.exception("event dispatch failed; trying again")
            if _wake.wait(every_s):
                time.sleep(max(0.0, started + gap_s - time.monotonic()))
    finally:
        dispatcher.close()
