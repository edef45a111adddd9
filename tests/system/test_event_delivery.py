"""Channel events pushed by the running service (gunicorn, each worker with its dispatcher) to
a real HTTP receiver on 127.0.0.1 that verifies every delivery with the Standard Webhooks
library and the channel's secret: every event arrives, in order per order, with the same id
and body on every try, through a receiver that is down, answers 500, 410 or a redirect, or
takes longer than the timeout; an event tried past give_up_h dies and is replayed; and the
app server killed with SIGKILL mid-delivery loses nothing when it is started again."""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import PASSWORD, free_port, order_body, ref, serving
from tests.printer import FakePrinter
from tests.receiver import Behaviour, Receiver
from tests.system.test_label_service import (
    Api,
    Packer,
    picked_order,
    station_config,
    stocked_products,
)
from warehouse import accounts, migrate
from warehouse.app import secret_key
from warehouse.config import AuthConfig, DatabaseConfig
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.models import Channel, ChannelEvent, EventStatus

# The main scenario runs on PostgreSQL from tests/pg/test_event_delivery.py; the others are
# about the receiver's side and the service's processes.
POSTGRESQL = False

# Tries a second apart at most, and a second to answer.
QUICK = {
    "WAREHOUSE_EVENTS_TIMEOUT_S": "1",
    "WAREHOUSE_EVENTS_FIRST_RETRY_S": "0.2",
    "WAREHOUSE_EVENTS_LAST_RETRY_S": "1",
}
WAIT_S = 60


@dataclass(frozen=True)
class Site:
    """A migrated database with an admin's token, a packer, and config.toml with the pack1
    printer on a port of its own."""

    url: str
    token: str
    packer: str
    config: Path
    printer_port: int
    factory: sessionmaker[Session]


@contextmanager
def site(folder: Path, url: str) -> Iterator[Site]:
    engine = make_engine(DatabaseConfig(url=url))
    # As `warehouse init` and `warehouse user add` do, without a process for each.
    migrate.upgrade(engine)
    secret_key(engine)
    factory = make_sessionmaker(engine)
    admin, packer = ref("admin"), ref("packer")
    with writing(factory) as session:
        accounts.add_user(session, admin, "admin", AuthConfig())
        accounts.add_user(session, packer, "packer", AuthConfig(), password=PASSWORD)
        token = accounts.create_token(session, admin)
    printer_port = free_port()
    try:
        with FakePrinter(printer_port):
            config = station_config(folder, printer_port)
            yield Site(url, token, packer, config, printer_port, factory)
    finally:
        engine.dispose()


@contextmanager
def service(place: Site, **settings: str) -> Iterator[tuple[Api, Any]]:
    """The service (two workers) on the site; yields its API and the gunicorn master."""
    env = {"WAREHOUSE_CONFIG": str(place.config), **QUICK, **settings}
    with serving(place.url, workers=2, env=env) as (base, server):
        api = Api(base, place.token)
        try:
            yield api, server
        finally:
            api.close()


def pushed_channel(
    api: Api, place: Site, receiver: Receiver, behaviour: Behaviour | None = None
) -> str:
    """A new channel whose events go to the receiver, which checks them with the secret the
    channel was created with."""
    code = ref("ch").lower()
    made = api.http.put(f"/api/channels/{code}", json={"name": f"Channel {code}"})
    assert made.status_code == 201, made.text
    url = receiver.expect(code, made.json()["webhook_secret"], behaviour)
    # Written to the database directly: setting it through PUT /api/channels is not here yet.
    with writing(place.factory) as session:
        session.execute(update(Channel).where(Channel.code == code).values(events_url=url))
    return code


def events_of(place: Site, codes: list[str]) -> list[ChannelEvent]:
    with place.factory() as session:
        return list(
            session.scalars(
                select(ChannelEvent)
                .join(Channel)
                .where(Channel.code.in_(codes))
                .order_by(ChannelEvent.seq, ChannelEvent.id)
            )
        )


def deliveries(api: Api, code: str) -> dict[str, Any]:
    shown: dict[str, Any] = api.call("GET", f"/api/channels/{code}/deliveries")
    return shown


def until(check: Any, what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def all_delivered(place: Site, receiver: Receiver, codes: list[str]) -> list[ChannelEvent]:
    """Waits until every event of these channels is delivered; returns them."""

    def done() -> list[ChannelEvent] | None:
        events = events_of(place, codes)
        if events and all(e.status == EventStatus.DELIVERED for e in events):
            return events
        return None

    events: list[ChannelEvent] = until(done, "every event delivered")
    return events


def shown_failing(api: Api, code: str, words: str) -> None:
    """Waits until the channel's deliveries show an event tried twice or more that failed
    with these words."""
    until(
        lambda: any(
            words in e["last_error"] and e["attempts"] >= 2 for e in deliveries(api, code)["events"]
        ),
        f"{words!r} shown",
    )


def check_arrivals(receiver: Receiver, events: list[ChannelEvent], since: float = 0) -> None:
    """Every event arrived signed and was acknowledged, each try with the same body, and the
    events of each order (and of each SKU) in order: none arrived before the one ahead of it
    was acknowledged (counting what arrived `since` then)."""
    assert receiver.forged == []
    bodies: dict[str, set[bytes]] = defaultdict(set)
    first_arrival: dict[str, float] = {}
    first_ack: dict[str, float] = {}
    for arrival in receiver.arrivals:
        if arrival.at < since:
            bodies[arrival.event_id].add(arrival.body)
            continue
        bodies[arrival.event_id].add(arrival.body)
        first_arrival.setdefault(arrival.event_id, arrival.at)
        if 200 <= arrival.answered < 300:
            first_ack.setdefault(arrival.event_id, arrival.at)
    assert {e.event_id for e in events} <= set(first_ack)
    assert all(len(bodies[e.event_id]) == 1 for e in events)
    lines: dict[tuple[int, str, int | None], list[str]] = defaultdict(list)
    for e in events:  # in seq order
        subject = ("order", e.order_id) if e.order_id else ("sku", e.product_id)
        lines[(e.channel_id, *subject)].append(e.event_id)
    for ids in lines.values():
        for ahead, behind in itertools.pairwise(ids):
            assert first_ack[ahead] < first_arrival[behind], (ahead, behind)


def ship_at_the_dock(api: Api, place: Site, base_sku: str, code: str) -> tuple[int, str]:
    """An order picked, packed at station pack1 and loaded at the dock (its carton's label
    scanned); returns the order and its carton's SSCC."""
    order = picked_order(api, code, {base_sku: 1})
    packer = Packer(str(api.http.base_url).rstrip("/"), place.packer)
    try:
        packer.pack(order, [[base_sku]])
        (carton,) = api.shipment(order)["cartons"]
        packer.load(order, [carton["sscc"]])
    finally:
        packer.close()
    assert api.call("GET", f"/api/orders/{order}")["status"] == "shipped"
    return order, carton["sscc"]


def deliver_through_an_outage(folder: Path, url: str) -> None:
    """Orders taken, cancelled and shipped on two channels while their receiver is down, then
    up but answering 500 to one channel: once it answers 2xx, every event is there."""
    receiver = Receiver(on=False)
    with site(folder, url) as place, service(place) as (api, _server), receiver:
        web, market = (pushed_channel(api, place, receiver) for _ in range(2))
        skus = stocked_products(api, 3, qty=40)
        orders = []
        for n in range(12):
            body = order_body({skus[n % 3]: 1 + n % 2, skus[(n + 1) % 3]: 1})
            code = (web, market)[n % 2]
            orders.append(api.call("POST", f"/api/channels/{code}/orders", body)["id"])
        for order in orders[:3]:
            api.call("POST", f"/api/orders/{order}/cancel")
        shipped, sscc = ship_at_the_dock(api, place, skus[0], web)

        refused = until(
            lambda: [e for e in deliveries(api, web)["events"] if "refused" in e["last_error"]],
            "a refused connection shown",
        )
        assert refused[0]["status"] in ("pending", "sending")
        receiver.behave(web, status=500, body=b"Try later")
        receiver.switch_on()
        until(lambda: len(receiver.of(web)) >= 6, "tries answered 500")
        until(
            lambda: any(
                "answered 500 Internal Server Error: Try later" in e["last_error"]
                for e in deliveries(api, web)["events"]
            ),
            "the 500 shown",
        )
        receiver.behave(web, status=204)
        events = all_delivered(place, receiver, [web, market])

        check_arrivals(receiver, events)
        # Retried events came with the id and body of their failed tries.
        failed = {a.event_id for a in receiver.of(web) if a.answered == 500}
        assert failed and failed <= {a.event_id for a in receiver.acknowledged(web)}
        told = [a.event for a in receiver.acknowledged(web) if a.event["data"].get("id") == shipped]
        assert [event["type"] for event in told] == ["order.accepted", "order.shipped"]
        (shipment,) = told[-1]["data"]["shipments"]
        assert shipment["cartons"][0]["sscc"] == sscc
        cancelled = [
            a.event["type"]
            for a in receiver.acknowledged()
            if a.event["data"].get("id") == orders[0]
        ]
        assert cancelled == ["order.accepted", "order.cancelled"]
        for code in (web, market):
            shown = deliveries(api, code)
            assert (shown["pending"], shown["failing"], shown["dead"]) == (0, 0, 0)
            assert shown["delivered"] == len(events_of(place, [code]))


def test_every_event_arrives_signed_and_in_order_after_the_receiver_was_down(
    tmp_path: Path,
) -> None:
    deliver_through_an_outage(tmp_path, f"sqlite:///{tmp_path}/warehouse.sqlite3")


def test_receivers_that_fail_in_every_way_get_every_event_once_they_answer_2xx(
    tmp_path: Path,
) -> None:
    ways = {
        "500": (Behaviour(status=500, body=b"boom"), "answered 500 Internal Server Error: boom"),
        "410": (Behaviour(status=410), "answered 410 Gone"),
        "302": (
            Behaviour(status=302, location="https://moved.example.test/in"),
            "a redirect to https://moved.example.test/in",
        ),
        "slow": (Behaviour(status=200, delay_s=3), "No answer from 127.0.0.1:"),
    }
    with (
        Receiver() as receiver,
        site(tmp_path, f"sqlite:///{tmp_path}/warehouse.sqlite3") as place,
        service(place) as (api, _server),
    ):
        codes = {way: pushed_channel(api, place, receiver, how) for way, (how, _) in ways.items()}
        (sku,) = stocked_products(api, 1, qty=40)
        for code in codes.values():
            for _ in range(2):
                api.call("POST", f"/api/channels/{code}/orders", order_body({sku: 1}))
        for way, code in codes.items():
            shown_failing(api, code, ways[way][1])
            assert deliveries(api, code)["dead"] == 0
        # Nothing followed the redirect: every try went to the channel's own URL.
        assert all(a.channel in codes.values() for a in receiver.arrivals)
        for code in codes.values():
            receiver.behave(code, status=200)
        events = all_delivered(place, receiver, list(codes.values()))
        check_arrivals(receiver, events)
        for code in codes.values():
            tried = [a.event_id for a in receiver.of(code)]
            assert len(tried) > len(set(tried))  # retried, with the same ids


def test_an_event_failing_past_give_up_dies_and_replay_delivers_it_with_its_id(
    tmp_path: Path,
) -> None:
    with (
        Receiver() as receiver,
        site(tmp_path, f"sqlite:///{tmp_path}/warehouse.sqlite3") as place,
        service(place, WAREHOUSE_EVENTS_GIVE_UP_H="0.0005", WAREHOUSE_EVENTS_LAST_RETRY_S="0.5")
        as (api, _server),
    ):  # fmt: skip
        code = pushed_channel(api, place, receiver, Behaviour(status=503))
        (sku,) = stocked_products(api, 1, qty=10)
        api.call("POST", f"/api/channels/{code}/orders", order_body({sku: 2}))
        total = len(events_of(place, [code]))
        shown = until(
            lambda: (s := deliveries(api, code))["dead"] == total and s["pending"] == 0 and s,
            "every event dead",
        )
        assert {e["status"] for e in shown["events"]} == {"dead"}
        assert all("503 Service Unavailable" in e["last_error"] for e in shown["events"])
        assert all(e["attempts"] >= 3 for e in shown["events"])
        died = {e["id"] for e in shown["events"]}
        assert died == {a.event_id for a in receiver.of(code)}

        receiver.behave(code, status=200)
        replayed_at = time.monotonic()
        answer = api.call("POST", f"/api/channels/{code}/events/replay", {})
        assert answer == {"replayed": total}
        events = all_delivered(place, receiver, [code])
        # Dead events hold back no later ones; replayed together, they go in order again.
        check_arrivals(receiver, events, since=replayed_at)
        assert {a.event_id for a in receiver.acknowledged(code)} == died
        shown = deliveries(api, code)
        assert (shown["dead"], shown["delivered"], shown["events"]) == (0, total, [])


def test_the_app_server_killed_mid_delivery_loses_nothing_and_resends_with_the_same_ids(
    tmp_path: Path,
) -> None:
    with (
        Receiver() as receiver,
        site(tmp_path, f"sqlite:///{tmp_path}/warehouse.sqlite3") as place,
    ):
        with service(place, WAREHOUSE_EVENTS_LEASE_S="2") as (api, server):
            code = pushed_channel(api, place, receiver, Behaviour(status=200, delay_s=3))
            skus = stocked_products(api, 4, qty=40)
            for n in range(12):
                api.call("POST", f"/api/channels/{code}/orders", order_body({skus[n % 4]: 1}))
            receiver.wait_for(lambda: receiver.in_progress >= 2, WAIT_S, "sends in flight")
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        in_flight = {a.event_id for a in receiver.of(code)}
        assert any(e.status == EventStatus.SENDING for e in events_of(place, [code]))
        receiver.behave(code, status=200)
        with service(place, WAREHOUSE_EVENTS_LEASE_S="2"):
            events = all_delivered(place, receiver, [code])
        check_arrivals(receiver, events)
        arrived = [a.event_id for a in receiver.of(code)]
        again = {event_id for event_id in in_flight if arrived.count(event_id) >= 2}
        assert again, "no event cut off by the kill was sent again"
        assert all(e.attempts >= 2 for e in events if e.event_id in again)


def senders_of(master: int) -> list[int]:
    """The running event sender processes this gunicorn master started."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"warehouse.event_sender" in command and parent == master:
            found.append(int(entry.name))
    return found


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state == "Z"


def test_the_event_sender_is_started_again_when_killed_and_goes_with_its_server(
    tmp_path: Path,
) -> None:
    with (
        Receiver() as receiver,
        site(tmp_path, f"sqlite:///{tmp_path}/warehouse.sqlite3") as place,
    ):
        with service(place) as (api, server):
            (first,) = until(lambda: senders_of(server.pid), "the event sender")
            os.kill(first, signal.SIGKILL)
            (second,) = until(
                lambda: [pid for pid in senders_of(server.pid) if pid != first],
                "the event sender started again",
            )
            code = pushed_channel(api, place, receiver)
            skus = stocked_products(api, 2, qty=5)
            api.call("POST", f"/api/channels/{code}/orders", order_body({skus[0]: 1}))
            check_arrivals(receiver, all_delivered(place, receiver, [code]))
        # Stopped with the server...
        until(lambda: gone(second), "the event sender stopped with the server")
        with service(place) as (api, server):
            (sender,) = until(lambda: senders_of(server.pid), "the event sender")
            # ...and when its server is killed outright, by itself.
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
            until(lambda: gone(sender), "the event sender gone with its server", timeout=20)
