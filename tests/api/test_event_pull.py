"""A channel's events pulled by cursor: in the order they happened, each once while new ones
are written, a burst of stock changes as one event, bad cursors refused, and an integration
token's own channels only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from tests.api.test_picking import place_order
from tests.conftest import ApiClient, make_channel, make_location, receive, ref, stocked_product
from warehouse import accounts
from warehouse.config import Config
from warehouse.db import writing
from warehouse.models import Channel, ChannelEvent


def pull(api: ApiClient, channel: str, after: str | None = None, **params: Any) -> TestResponse:
    query = {**params, **({"after": after} if after is not None else {})}
    return api.get(f"/api/channels/{channel}/events", query_string=query)


def pulled(api: ApiClient, channel: str, after: str | None = None) -> tuple[list[Any], str]:
    """The events after the cursor, page after page until none is left, and the cursor then."""
    events: list[Any] = []
    while True:
        answer = pull(api, channel, after, limit=2)
        assert answer.status_code == 200, answer.json
        assert isinstance(answer.json["next_cursor"], str)
        events += answer.json["events"]
        if not answer.json["events"]:
            assert answer.json["next_cursor"] == after or after is None
            return events, answer.json["next_cursor"]
        after = answer.json["next_cursor"]


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Each event's type and what it is of: the order's id and status, or the SKU's figure."""
    return [
        (e["type"], (e["data"]["id"], e["data"]["status"]))
        if e["type"].startswith("order.")
        else (e["type"], (e["data"]["sku"], e["data"]["available"]))
        for e in events
    ]


def stored_events(factory: sessionmaker[Session], channel: str) -> list[str]:
    """The ids of the channel's events as stored, in their order."""
    with factory() as session:
        return list(
            session.scalars(
                select(ChannelEvent.event_id)
                .join(Channel, Channel.id == ChannelEvent.channel_id)
                .where(Channel.code == channel)
                .order_by(ChannelEvent.seq)
            )
        )


def placed(factory: sessionmaker[Session], channel: str) -> list[int | None]:
    """The places (seq) of the channel's events as stored."""
    with factory() as session:
        return list(
            session.scalars(
                select(ChannelEvent.seq)
                .join(Channel, Channel.id == ChannelEvent.channel_id)
                .where(Channel.code == channel)
            )
        )


def test_a_scripted_day_comes_out_in_order_with_its_data(
    api: ApiClient, factory: sessionmaker[Session]
) -> None:
    channel = make_channel(api)
    events, start = pulled(api, channel)
    assert events == []
    # Nothing new: the cursor sent comes back, for the poller to keep.
    again = pull(api, channel, start).json
    assert again == {"events": [], "next_cursor": start}

    chain: list[dict[str, Any]] = []
    sku = stocked_product(api, 5)
    events, cursor = pulled(api, channel, start)
    chain += events
    assert kinds(events) == [("inventory.changed", (sku, 5))]
    assert events[0]["data"] == {"sku": sku, "available": 5}

    order = place_order(api, channel, {sku: 2})["id"]
    # Written without a place; the pull gives them theirs before it reads.
    assert None in placed(factory, channel)
    events, cursor = pulled(api, channel, cursor)
    assert None not in placed(factory, channel)
    chain += events
    assert kinds(events) == [
        ("order.accepted", (order, "reserved")), ("inventory.changed", (sku, 3)),
    ]  # fmt: skip
    # The order as GET /api/orders/{id} shows it.
    assert events[0]["data"] == api.get(f"/api/orders/{order}").json

    assert api.post(f"/api/orders/{order}/cancel").status_code == 200
    events, cursor = pulled(api, channel, cursor)
    chain += events
    assert kinds(events) == [
        ("order.cancelled", (order, "cancelled")), ("inventory.changed", (sku, 5)),
    ]  # fmt: skip
    assert events[0]["data"]["lines"][0]["cancelled"] == 2

    receive(api, sku, make_location(api), 4)
    big = place_order(api, channel, {sku: 12})["id"]
    events, cursor = pulled(api, channel, cursor)
    chain += events
    assert kinds(events) == [
        ("order.accepted", (big, "partial")), ("inventory.changed", (sku, 0)),
    ]  # fmt: skip
    line = events[0]["data"]["lines"][0]
    assert (line["reserved"], line["backordered"]) == (9, 3)
    # Stock arrives: the backorder is filled, and 2 are left to sell.
    receive(api, sku, make_location(api), 5)
    events, cursor = pulled(api, channel, cursor)
    chain += events
    assert kinds(events) == [
        ("order.filled", (big, "reserved")), ("inventory.changed", (sku, 2)),
    ]  # fmt: skip

    # From the start: the same order events; of the SKU's figures, the one told last
    # (each newer figure takes the place of the one before).
    everything, _ = pulled(api, channel)
    assert [e for e in everything if e["type"].startswith("order.")] == [
        e for e in chain if e["type"].startswith("order.")
    ]
    assert [e for e in everything if e["type"] == "inventory.changed"] == chain[-1:]
    for event in everything + chain:
        assert event["channel"] == channel and event["id"].startswith("evt_")
        assert datetime.fromisoformat(event["created_at"]).tzinfo is not None
    assert len({event["id"] for event in chain}) == len(chain)


def test_paging_returns_each_event_once_while_events_are_written(
    api: ApiClient, factory: sessionmaker[Session]
) -> None:
    # Stocked before the channel exists: each SKU's first figure is told with its order.
    skus = [stocked_product(api, 3) for _ in range(8)]
    channel = make_channel(api)
    orders = [place_order(api, channel, {sku: 1})["id"] for sku in skus[:3]]
    seen: list[dict[str, Any]] = []
    cursor = None
    more = iter(skus[3:])
    while True:
        answer = pull(api, channel, cursor, limit=4)
        assert answer.status_code == 200, answer.json
        seen += answer.json["events"]
        cursor = answer.json["next_cursor"]
        # Written between pages: an order (two events) after each page.
        sku = next(more, None)
        if sku is not None:
            orders.append(place_order(api, channel, {sku: 1})["id"])
        elif not answer.json["events"]:
            break
    assert [e["id"] for e in seen] == stored_events(factory, channel)
    assert len(seen) == 2 * len(skus)
    accepted = [e["data"]["id"] for e in seen if e["type"] == "order.accepted"]
    assert accepted == orders


def test_a_burst_of_stock_changes_is_pulled_as_one_event_with_the_latest_figure(
    api: ApiClient,
) -> None:
    channel = make_channel(api)
    _, cursor = pulled(api, channel)
    sku = stocked_product(api, 4)
    receive(api, sku, make_location(api), 3)
    receive(api, sku, make_location(api), 2)
    events, cursor = pulled(api, channel, cursor)
    assert kinds(events) == [("inventory.changed", (sku, 9))]
    # Read, then changed again: a new event after the cursor, read once.
    order = place_order(api, channel, {sku: 9})["id"]
    events, cursor = pulled(api, channel, cursor)
    assert kinds(events) == [
        ("order.accepted", (order, "reserved")), ("inventory.changed", (sku, 0)),
    ]  # fmt: skip
    assert pulled(api, channel, cursor)[0] == []


def test_a_pulled_cursor_is_refused_when_malformed_or_of_another_channel(api: ApiClient) -> None:
    channel, other = make_channel(api), make_channel(api)
    stocked_product(api, 2)
    first = pull(api, channel, limit=1).json
    cursor = first["next_cursor"]
    assert len(first["events"]) == 1
    theirs = pull(api, other).json["next_cursor"]
    answer = pull(api, channel, theirs)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"] == "cursor_of_another_channel"
    assert answer.json["error"]["field"] == "after"
    # An order list's cursor is not an event cursor.
    sku = stocked_product(api, 5)
    for _ in range(2):
        place_order(api, channel, {sku: 1})
    orders = api.get("/api/orders", query_string={"channel": channel, "limit": 1}).json
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for bad in ("x", "%%%", "ZXZlbnRzOjE6Mg", flipped, cursor + "AAAA", orders["next_cursor"],
                "A" * 201):  # fmt: skip
        answer = pull(api, channel, bad)
        assert answer.status_code == 422, (bad, answer.json)
        assert answer.json["error"] == {
            "code": "bad_cursor", "field": "after", "message": answer.json["error"]["message"],
        }  # fmt: skip
    # The good cursor still reads on.
    assert pull(api, channel, cursor).status_code == 200


@pytest.mark.parametrize("limit", ["0", "1001", "-3", str(10**30), "many"])
def test_a_pull_holds_1_to_1000_events(api: ApiClient, limit: str) -> None:
    answer = pull(api, make_channel(api), limit=limit)
    assert answer.status_code == 422 and answer.json["error"]["field"] == "limit", answer.json


def test_a_pull_of_an_unknown_channel_is_404(api: ApiClient) -> None:
    answer = pull(api, "no-such-channel")
    assert answer.status_code == 404 and answer.json["error"]["code"] == "unknown_channel"


@pytest.fixture
def puller_name(factory: sessionmaker[Session], config: Config) -> str:
    """A new integration user, with no token yet."""
    with writing(factory) as session:
        return accounts.add_user(session, ref("bot"), "integration", config.auth).user.name


def test_a_token_bound_to_a_channel_pulls_only_its_events(
    api: ApiClient, factory: sessionmaker[Session], puller_name: str
) -> None:
    mine, theirs = make_channel(api), make_channel(api)
    sku = stocked_product(api, 3)
    with writing(factory) as session:
        bound = accounts.create_token(session, puller_name, [mine])
        unbound = accounts.create_token(session, puller_name)

    def as_token(token: str) -> ApiClient:
        return ApiClient(api.client, {"integration": token}, "integration")

    own = pull(as_token(bound), mine)
    assert own.status_code == 200
    assert kinds(own.json["events"]) == [("inventory.changed", (sku, 3))]
    hidden = pull(as_token(bound), theirs)
    assert hidden.status_code == 404 and hidden.json["error"]["code"] == "unknown_channel"
    assert kinds(pull(as_token(unbound), theirs).json["events"]) == [
        ("inventory.changed", (sku, 3))
    ]
    for role in ("picker", "packer", "receiver"):
        assert pull(api.as_role(role), mine).status_code == 403
