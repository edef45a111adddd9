"""Placing events gives way to a transaction that holds what it needs (on PostgreSQL, a
committing order replacing its SKU's waiting event): no deadlock, no error, and the events
are placed by the next try."""

from __future__ import annotations

import time

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, make_channel, order_body, stocked_product
from warehouse import outbox
from warehouse.db import make_sessionmaker, writing
from warehouse.models import ChannelEvent


def test_placing_events_gives_way_then_places_them(api: ApiClient, engine: Engine) -> None:
    factory: sessionmaker[Session] = make_sessionmaker(engine)
    code = make_channel(api)
    for _ in range(2):
        # The first is placed now: the counter row of places exists from then on.
        outbox.place(factory)
        api.post(f"/api/channels/{code}/orders", order_body({stocked_product(api, 1): 1}))
    with writing(factory) as holder:
        holder.execute(text("SELECT value FROM counter WHERE name = 'event_seq' FOR UPDATE"))
        started = time.monotonic()
        assert outbox.place(factory) == 0
        assert time.monotonic() - started < 5
    assert outbox.place(factory) >= 1
    with factory() as session:
        assert None not in session.scalars(select(ChannelEvent.seq)).all()
