"""Events pushed to a channel's receiver by the dispatcher (one pass at a time, called here),
to a real HTTP server on 127.0.0.1 that checks every signature: in order per order, failing
events retried with their reasons shown, dead ones listed and replayed with their ids; the
supervisor's API and page for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, Floor, order_body, ref, stocked_product
from tests.receiver import Behaviour, Receiver
from warehouse import delivery
from warehouse.config import EventsConfig
from warehouse.db import writing
from warehouse.models import Channel, ChannelEvent, EventStatus, Order, utcnow

# Retried a few milliseconds apart, and given up on after a few tries.
FAST = EventsConfig(timeout_s=2, first_retry_s=0.001, last_retry_s=0.004, give_up_h=1e-6)
# Retried at once, never given up on within a test.
PATIENT = EventsConfig(timeout_s=2, first_retry_s=0.001, last_retry_s=0.004, give_up_h=24)


@pytest.fixture(autouse=True)
def pushed_to_this_test_alone(factory: sessionmaker[Session]) -> None:
    """Other tests' channels keep the events URLs they were given (hosts of other
    networks): here only this test's own channels are pushed to."""
    with writing(factory) as session:
        session.execute(update(Channel).values(events_url=None))
        session.execute(
            update(ChannelEvent)
            .where(ChannelEvent.status.in_([EventStatus.PENDING, EventStatus.SENDING]))
            .values(status=EventStatus.PULL, lease_until=None)
        )


@pytest.fixture
def events_receiver() -> Iterator[Receiver]:
    with Receiver() as receiving:
        yield receiving


@pytest.fixture
def pushed(
    api: ApiClient, factory: sessionmaker[Session], events_receiver: Receiver
) -> Iterator[Callable[..., str]]:
    """Makes channels whose events go to the receiver; their events URLs are taken away
    afterwards, so no later test's dispatcher sends their leftovers."""
    made: list[str] = []

    def make(url: str | None = None, behaviour: Behaviour | None = None) -> str:
        code = ref("ev").lower()
        answer = api.put(f"/api/channels/{code}", {"name": f"Events {code}"})
        assert answer.status_code == 201, answer.json
        receiving = events_receiver.expect(code, answer.json["webhook_secret"], behaviour)
        set_events_url(factory, code, url or receiving)
        made.append(code)
        return code

    yield make
    for code in made:
        set_events_url(factory, code, None)


def set_events_url(factory: sessionmaker[Session], code: str, url: str | None) -> None:
    # Written to the database directly: setting it through PUT /api/channels is not here yet.
    with writing(factory) as session:
        session.execute(update(Channel).where(Channel.code == code).values(events_url=url))


def events_of(factory: sessionmaker[Session], code: str) -> list[ChannelEvent]:
    with factory() as session:
        return list(
            session.scalars(
                select(ChannelEvent)
                .join(Channel)
                .where(Channel.code == code)
                .order_by(ChannelEvent.seq, ChannelEvent.id)
            )
        )


def dispatch_until(
    factory: sessionmaker[Session], timing: EventsConfig, done: Callable[[], Any], what: str
) -> Any:
    """Dispatcher passes until `done` holds."""
    deadline = time.monotonic() + 20
    while not (found := done()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        delivery.dispatch(factory, timing)
    return found


def order_on(api: ApiClient, code: str, sku: str) -> int:
    answer = api.post(f"/api/channels/{code}/orders", order_body({sku: 1}))
    assert answer.status_code == 201, answer.json
    return int(answer.json["id"])


def statuses(factory: sessionmaker[Session], code: str) -> list[str]:
    return [event.status for event in events_of(factory, code)]


def test_failing_events_are_shown_with_why_and_die_then_replay_sends_them_with_their_ids(
    api: ApiClient, factory: sessionmaker[Session], events_receiver: Receiver, pushed: Any
) -> None:
    code = pushed(behaviour=Behaviour(status=503, body=b"<h1>Down for maintenance</h1>"))
    sku = stocked_product(api, 5)
    order_on(api, code, sku)
    order_on(api, code, sku)
    delivery.dispatch(factory, PATIENT)
    shown = api.as_role("supervisor").get(f"/api/channels/{code}/deliveries")
    assert shown.status_code == 200, shown.json
    written = events_of(factory, code)
    # Two acceptances and the SKU's latest figure (the first gave way to the second).
    assert sorted(event.type for event in written) == [
        "inventory.changed", "order.accepted", "order.accepted",
    ]  # fmt: skip
    assert shown.json["pending"] == shown.json["failing"] == 3 and shown.json["dead"] == 0
    assert shown.json["oldest_pending_s"] >= 0 and shown.json["events_url"] == events_receiver.url(
        code
    )
    for event in shown.json["events"]:
        assert event["status"] == "pending" and event["attempts"] == 1
        assert (
            event["last_error"]
            == "The channel answered 503 Service Unavailable: Down for maintenance"
        )

    dispatch_until(factory, FAST, lambda: set(statuses(factory, code)) == {"dead"}, "death")
    shown = api.get(f"/api/channels/{code}/deliveries").json
    assert (shown["pending"], shown["failing"], shown["dead"], shown["delivered"]) == (0, 0, 3, 0)
    assert {event["id"] for event in shown["events"]} == {event.event_id for event in written}
    assert all("503" in event["last_error"] for event in shown["events"])
    tried = {arrival.event_id: arrival.body for arrival in events_receiver.of(code)}
    assert set(tried) == {event.event_id for event in written}
    # Dead stays dead: a pass tries it no more.
    tries = len(events_receiver.of(code))
    delivery.dispatch(factory, PATIENT)
    assert len(events_receiver.of(code)) == tries and set(statuses(factory, code)) == {"dead"}

    events_receiver.behave(code, status=200)
    replayed = api.as_role("supervisor").post(f"/api/channels/{code}/events/replay", {})
    assert replayed.status_code == 200 and replayed.json == {"replayed": 3}
    again = events_of(factory, code)
    assert [(e.status, e.attempts, e.last_error) for e in again] == [("pending", 0, "")] * 3
    assert delivery.dispatch(factory, PATIENT) == 3
    acknowledged = events_receiver.acknowledged(code)
    # The same ids, and the same bytes the failed tries carried.
    assert {a.event_id: a.body for a in acknowledged} == tried
    assert len(events_receiver.forged) == 0
    shown = api.get(f"/api/channels/{code}/deliveries").json
    assert (shown["pending"], shown["dead"], shown["delivered"], shown["events"]) == (0, 0, 3, [])


def test_an_order_s_events_go_in_order_each_after_the_one_before_is_acknowledged(
    api: ApiClient, factory: sessionmaker[Session], events_receiver: Receiver, pushed: Any
) -> None:
    code = pushed(behaviour=Behaviour(status=500))
    sku = stocked_product(api, 5)
    order = order_on(api, code, sku)
    assert api.post(f"/api/orders/{order}/cancel").status_code == 200
    for _ in range(5):
        delivery.dispatch(factory, PATIENT)
    # The cancellation waits behind the acceptance, however often that fails.
    tried = [
        a.event["type"] for a in events_receiver.of(code) if a.event["data"].get("id") == order
    ]
    assert len(tried) >= 5 and set(tried) == {"order.accepted"}
    cancelled = [e for e in events_of(factory, code) if e.type == "order.cancelled"]
    assert cancelled[0].status == "pending" and cancelled[0].attempts == 0

    events_receiver.behave(code, status=202)
    dispatch_until(
        factory, PATIENT, lambda: set(statuses(factory, code)) == {"delivered"}, "delivery"
    )
    told = [
        a.event for a in events_receiver.acknowledged(code) if a.event["data"].get("id") == order
    ]
    assert [(event["type"], event["data"]["status"]) for event in told] == [
        ("order.accepted", "reserved"),
        ("order.cancelled", "cancelled"),
    ]
    assert all(event["channel"] == code for event in told)


def test_a_sender_that_died_mid_send_is_replaced_and_the_event_keeps_its_id(
    api: ApiClient, factory: sessionmaker[Session], events_receiver: Receiver, pushed: Any
) -> None:
    code = pushed()
    order = order_on(api, code, stocked_product(api, 1))
    accepted = next(e for e in events_of(factory, code) if e.type == "order.accepted")
    # Claimed by a sender that then died: its lease ran out a moment ago.
    with writing(factory) as session:
        session.execute(
            update(ChannelEvent)
            .where(ChannelEvent.id == accepted.id)
            .values(status=EventStatus.SENDING, attempts=1, lease_until=utcnow())
        )
    dispatch_until(
        factory, PATIENT, lambda: set(statuses(factory, code)) == {"delivered"}, "delivery"
    )
    (arrival,) = [
        a for a in events_receiver.acknowledged(code) if a.event["type"] == "order.accepted"
    ]
    assert arrival.event_id == accepted.event_id and arrival.event["data"]["id"] == order
    with factory() as session:
        again = session.get(ChannelEvent, accepted.id)
        assert again is not None and again.attempts == 2


def test_a_slow_send_keeps_its_claim_and_no_other_dispatcher_sends_it_meanwhile(
    api: ApiClient, factory: sessionmaker[Session], events_receiver: Receiver, pushed: Any
) -> None:
    # Each answer takes 2.5 s, well past the 1 s lease: only its renewal keeps the other
    # dispatcher (another worker, say) from taking the event for one whose sender died.
    code = pushed(behaviour=Behaviour(status=200, delay_s=2.5))
    timing = EventsConfig(timeout_s=5, lease_s=1)
    stop = threading.Event()
    dispatchers = [
        threading.Thread(target=delivery.run_dispatcher, args=(factory, stop, timing))
        for _ in range(2)
    ]
    for dispatcher in dispatchers:
        dispatcher.start()
    try:
        order_on(api, code, stocked_product(api, 1))
        events_receiver.wait_for(
            lambda: set(statuses(factory, code)) == {"delivered"}, 30, "every event delivered"
        )
    finally:
        stop.set()
        for dispatcher in dispatchers:
            dispatcher.join()
    tried = [arrival.event_id for arrival in events_receiver.of(code)]
    assert len(tried) == len(set(tried)) == len(events_of(factory, code))
    assert all(event.attempts == 1 for event in events_of(factory, code))


def test_replay_of_chosen_events_and_what_it_refuses(
    api: ApiClient, factory: sessionmaker[Session], events_receiver: Receiver, pushed: Any
) -> None:
    code = pushed(behaviour=Behaviour(status=410, body=b"gone"))
    other = pushed()
    sku = stocked_product(api, 5)
    order_on(api, code, sku)
    order_on(api, other, sku)
    dispatch_until(
        factory,
        FAST,
        lambda: "dead" in statuses(factory, code) and "pending" not in statuses(factory, code),
        "death",
    )
    dead = [e for e in events_of(factory, code) if e.status == "dead"]
    assert "410 Gone: gone" in dead[0].last_error
    theirs = events_of(factory, other)[0].event_id
    replay = f"/api/channels/{code}/events/replay"
    before = [(e.status, e.attempts) for e in events_of(factory, code)]

    for refused_ids in ([theirs], [dead[0].event_id, "evt_" + "0" * 32]):
        answer = api.post(replay, {"events": refused_ids})
        assert answer.status_code == 404 and answer.json["error"]["code"] == "unknown_event"
        assert answer.json["error"]["field"] == "events"
    assert api.post(replay, {"events": "all"}).status_code == 422
    assert api.post(replay, {"events": [""]}).status_code == 422
    assert api.post("/api/channels/no-such-channel/events/replay", {}).status_code == 404
    assert api.as_role("picker").post(replay, {}).status_code == 403
    assert api.as_role("integration").get(f"/api/channels/{code}/deliveries").status_code == 403
    assert [(e.status, e.attempts) for e in events_of(factory, code)] == before

    answer = api.post(replay, {"events": [dead[0].event_id]})
    assert answer.status_code == 200 and answer.json == {"replayed": 1}
    # Named again while it waits to be sent: it is not dead, and stays as it is.
    assert api.post(replay, {"events": [dead[0].event_id]}).json == {"replayed": 0}
    after = {e.event_id: (e.status, e.attempts) for e in events_of(factory, code)}
    assert after[dead[0].event_id] == ("pending", 0)
    assert sum(status == "dead" for status, _ in after.values()) == len(dead) - 1

    set_events_url(factory, code, None)
    pulled = api.post(replay, {})
    assert pulled.status_code == 409 and pulled.json["error"]["code"] == "no_events_url"


def test_an_events_url_that_cannot_be_sent_to_is_a_failure_not_a_crash(
    api: ApiClient, factory: sessionmaker[Session], pushed: Any
) -> None:
    urls = {
        pushed(url="ftp://example.test/events"): "not an http(s) address",
        pushed(url="http://[::1/events"): "not an address that can be sent to",
        pushed(url="http:///events"): "names no host",
    }
    sku = stocked_product(api, 5)
    for code in urls:
        order_on(api, code, sku)
    delivery.dispatch(factory, PATIENT)
    for code, words in urls.items():
        for event in events_of(factory, code):
            assert event.status == "pending" and event.attempts == 1
            assert words in event.last_error, event.last_error


def test_a_channel_without_an_events_url_keeps_its_pending_events(
    api: ApiClient, factory: sessionmaker[Session], events_receiver: Receiver, pushed: Any
) -> None:
    code = pushed()
    order_on(api, code, stocked_product(api, 5))
    set_events_url(factory, code, None)
    delivery.dispatch(factory, PATIENT)
    assert set(statuses(factory, code)) == {"pending"} and events_receiver.of(code) == []
    assert all(event.attempts == 0 for event in events_of(factory, code))
    set_events_url(factory, code, events_receiver.url(code))
    dispatch_until(
        factory, PATIENT, lambda: set(statuses(factory, code)) == {"delivered"}, "delivery"
    )


def test_the_events_page_lists_each_channel_and_replays_its_dead_events(
    api: ApiClient,
    factory: sessionmaker[Session],
    events_receiver: Receiver,
    pushed: Any,
    floor: Callable[[str], Floor],
) -> None:
    code = pushed(behaviour=Behaviour(status=302, location="https://elsewhere.test/in"))
    order = order_on(api, code, stocked_product(api, 5))
    dispatch_until(factory, FAST, lambda: set(statuses(factory, code)) == {"dead"}, "death")
    lead = floor("supervisor")
    page = lead.client.get("/events")
    assert page.status_code == 200
    html = page.text
    row = html[html.index(f'data-channel="{code}"') :]
    assert events_receiver.url(code) in row and 'data-testid="dead">2<' in row
    assert "a redirect to https://elsewhere.test/in" in row
    assert 'data-testid="replay">Replay 2 dead<' in row
    assert "<script" not in html and "style=" not in html
    assert "/events" in lead.client.get("/").text

    events_receiver.behave(code, status=200)
    replayed = lead.form("/events", channel=code)
    assert replayed.status_code == 200 and f"2 dead events of {code} sent again." in replayed.text
    assert delivery.dispatch(factory, PATIENT) == 2
    assert {a.event["type"] for a in events_receiver.acknowledged(code)} == {
        "order.accepted",
        "inventory.changed",
    }
    with factory() as session:
        assert session.get(Order, order) is not None
    unknown = lead.form("/events", channel="no-such-channel")
    assert unknown.status_code == 404 and "No channel has code" in unknown.text

    picker = floor("picker")
    assert picker.client.get("/events").status_code == 403
    assert picker.form("/events", channel=code).status_code == 403
    assert "/events" not in picker.client.get("/").text
