"""The pack and dock flows as JSON, at a station and on a handheld, and the station agent's
scans: scan the tote or the order, choose a box, scan each item in (a wrong one refused),
weigh and close, labels out; at the dock each label once. With the traps of a real bench: an
item before a box, another order's item, one too many, a barcode in the keypad, a carton
reopened after its label printed, a reprint pressed twice, a printer that is off."""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from scanners.gtin import with_check_digit
from station_agent.readers import serial_scans
from station_agent.scale import ScaleReporter
from tests.api.test_packing import (  # noqa: F401 (fixtures)
    pick_an_order,
    pick_lines,
    picked,
)
from tests.conftest import (
    ApiClient,
    Floor,
    Person,
    free_port,
    make_product,
    random_gtin13,
    ref,
    said,
    service_app,
    shipment_of,
)
from tests.printer import FakePrinter
from warehouse import printing
from warehouse.config import Config, PrinterConfig, StationConfig
from warehouse.invariants import check_invariants
from warehouse.models import PrintJob, ScanLog

SSCC = re.compile(rb">;>800(\d{18})")
# What no message or screen of the floor may show: a programmer's words.
NOT_FLOOR_WORDS = ("Errno", "Traceback", "{", "(?P", "[0-9]", "None", "Exception")


@pytest.fixture(scope="module")
def station_config(config: Config) -> Config:
    """Station pack7 with a raw TCP label printer, and a browser printer for handhelds."""
    return config.model_copy(
        update={
            "printers": {
                "bench7": PrinterConfig(kind="tcp", host="127.0.0.1", port=free_port()),
                "hand": PrinterConfig(kind="browser"),
            },
            "stations": {"pack7": StationConfig(printer="bench7")},
        }
    )


@pytest.fixture(scope="module")
def station_app(station_config: Config, engine: Engine) -> Flask:
    return service_app(station_config)


@pytest.fixture
def bench_printer(station_config: Config) -> Iterator[FakePrinter]:
    printer = FakePrinter(station_config.printers["bench7"].port)
    yield printer
    printer.close()


def packer_at(app: Flask, person: Person, station: str = "pack7") -> Floor:
    """The person signed in on a browser of their own, packing at `station` ("": on this
    handheld). Choosing the station starts the pack flow afresh, and the dock flow is left."""
    hand = Floor(app.test_client(), person)
    chosen = hand.act("pack", "station", station=station)
    assert chosen.status_code == 200 and chosen.json["state"] == {"station": station or None}
    assert hand.act("dock", "leave").json["state"] == {}
    return hand


@pytest.fixture
def packer(station_app: Flask, staff: dict[str, Person]) -> Floor:
    return packer_at(station_app, staff["packer"])


@pytest.fixture
def handheld(station_app: Flask, staff: dict[str, Person]) -> Floor:
    return packer_at(station_app, staff["packer"], station="")


def agent(station_app: Flask, tokens: dict[str, str]) -> ApiClient:
    """The station agent: its scans carry the station's name and a packer's token."""
    return ApiClient(station_app.test_client(), tokens, "packer")


def order_code(order: int) -> str:
    return f"O{order:08d}"


def plain(answer: TestResponse) -> TestResponse:
    """The answer, once its message and screen are checked to be in floor words."""
    body = answer.json
    assert body is not None, answer.text
    for text in (said(answer), body.get("panel", "")):
        for word in NOT_FLOOR_WORDS:
            assert word not in text, f"{word!r} shown to the packer: {text}"
    return answer


def good(answer: TestResponse) -> TestResponse:
    """A done answer, shown green."""
    assert answer.status_code == 200 and answer.json["outcome"] == "good", answer.text
    return plain(answer)


def refused(answer: TestResponse, status: int, words: str, code: str | None = None) -> None:
    """A refusal with this status, naming why in these words (and with this error code)."""
    assert answer.status_code == status, answer.text
    assert words in said(plain(answer)), said(answer)
    if code is not None:
        assert answer.json["error"]["code"] == code, answer.json


def packed_of(panel: str, sku: str) -> tuple[int, int]:
    """(picked, packed) of an order line, as the pack screen shows them."""
    found = re.search(
        r'data-sku="' + re.escape(sku) + r'">.*?data-testid="picked">(\d+)</td>'
        r'<td data-testid="packed">(\d+)<',
        panel,
        re.S,
    )
    assert found, panel
    return int(found[1]), int(found[2])


def statuses(panel: str) -> list[str]:
    """Each carton's status, as the pack screen shows them."""
    return re.findall(r'data-testid="carton" data-status="(\w+)"', panel)


def cartons_of(api: ApiClient, order: int) -> list[dict[str, Any]]:
    """The cartons of the order's latest shipment, with their label jobs."""
    shipment = api.get(f"/api/shipments/{shipment_of(api, order)}").json
    return shipment["cartons"]  # type: ignore[no-any-return]


def printed(
    sessions: sessionmaker[Session], config: Config, printer: FakePrinter, wanted: set[str]
) -> Counter[str]:
    """How many labels bearing each SSCC reached the printer, once those `wanted` have (labels
    of other tests waiting for bench7 come through too)."""
    deadline = time.monotonic() + 10
    while True:
        printing.dispatch(sessions, config.printers)
        seen = Counter(
            found.decode() for label in list(printer.jobs) for found in SSCC.findall(label)
        )
        if wanted <= set(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


def tried(sessions: sessionmaker[Session], config: Config, db: Session, job_id: int) -> PrintJob:
    """The job once the printer has been tried with it."""
    deadline = time.monotonic() + 10
    while True:
        printing.dispatch(sessions, config.printers)
        db.rollback()
        job = db.get(PrintJob, job_id)
        assert job is not None
        if job.attempts or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def job_count(db: Session) -> int:
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(PrintJob)) or 0)


def job_status(db: Session, job_id: int) -> str:
    db.rollback()
    job = db.get(PrintJob, job_id)
    assert job is not None
    return str(job.status)


def test_an_order_packed_at_a_station_into_two_cartons(
    packer: Floor,
    api: ApiClient,
    picked: dict[str, Any],  # noqa: F811
    station_config: Config,
    factory: sessionmaker[Session],
    bench_printer: FakePrinter,
    db: Session,
) -> None:
    order, heavy, light = picked["order"], picked["heavy"], picked["light"]
    page = good(packer.scan("pack", order_code(order)))
    assert page.json["state"] == {"station": "pack7", "order": order}
    assert heavy in page.json["panel"] and "Choose a box" in page.json["panel"]
    # An item before a box, and a box that is not in config.toml: refused.
    refused(packer.scan("pack", heavy), 409, "Choose a box first", "no_open_carton")
    refused(packer.act("pack", "box", box="crate"), 422, "No box type 'crate'")
    assert statuses(packer.view("pack")["panel"]) == []
    page = good(packer.act("pack", "box", box="small"))
    assert "Small box opened" in said(page)
    assert "Scan each item into carton 1" in page.json["panel"]
    assert "1 x " + heavy in said(good(packer.scan("pack", heavy)))
    # The wrong item, then one too many of the right one: refused.
    stranger = make_product(api)["sku"]
    refused(packer.scan("pack", stranger), 422, f"not in order {order}", "wrong_item")
    good(packer.scan("pack", heavy))
    refused(packer.scan("pack", heavy), 422, "One too many", "too_many")
    assert packed_of(packer.view("pack")["panel"], heavy) == (2, 2)
    # Weights that are no carton's: nothing changes.
    for typed in ("0", "-3", "900", "abc", "nan", "inf", ""):
        answer = packer.act("pack", "close", carton="1", weight_kg=typed)
        assert answer.status_code == 422, typed
        plain(answer)
    assert statuses(packer.view("pack")["panel"]) == ["open"]
    page = good(packer.act("pack", "close", carton="1", weight_kg="0.95"))
    assert "Carton 1 closed." in said(page) and "Another box" in page.json["panel"]
    good(packer.act("pack", "box", box="small"))
    good(packer.scan("pack", light))
    # 5 kg for a 400 g carton: held for a re-check, no label yet.
    page = packer.act("pack", "close", carton="2", weight_kg="5")
    assert page.status_code == 200 and page.json["outcome"] == "warn"
    assert "should weigh about 400 g" in said(plain(page))
    assert statuses(page.json["panel"]) == ["closed", "held"] and bench_printer.jobs == []
    page = good(packer.act("pack", "close", carton="2", weight_kg="0.41"))
    assert "Carton 2 closed. The order is packed" in said(page)
    assert 'data-testid="order-packed">Order packed: 2 cartons.<' in page.json["panel"]
    # The two labels reach the station's printer: one per carton, each with its SSCC.
    ssccs = {carton["sscc"] for carton in cartons_of(api, order)}
    assert len(ssccs) == 2
    seen = printed(factory, station_config, bench_printer, ssccs)
    assert [seen[sscc] for sscc in ssccs] == [1, 1]
    mine = [label for label in bench_printer.jobs if SSCC.findall(label)[0].decode() in ssccs]
    assert [label.count(b"^XA") for label in mine] == [1, 1]
    slip = packer.client.get(f"/pack/{order}/slip.pdf")
    assert slip.status_code == 200 and slip.data.startswith(b"%PDF")
    assert api.get(f"/api/orders/{order}").json["status"] == "packed"
    db.rollback()
    assert check_invariants(db) == []


def test_station_agent_scans_go_to_the_order_on_the_bench(
    station_app: Flask,
    packer: Floor,
    tokens: dict[str, str],
    api: ApiClient,
    picked: dict[str, Any],  # noqa: F811
) -> None:
    scanner = agent(station_app, tokens)
    order, heavy = picked["order"], picked["heavy"]

    def scan(code: str) -> Any:
        return scanner.post("/api/barcodes/resolve", {"code": code, "station": "pack7"})

    before = packer.client.get("/pack/bench/pack7.json").json["version"]
    put = scan(order_code(order))
    assert put.status_code == 200 and put.json["pack"] == {"kind": "pack", "step": "order",
                                                           "order": order}  # fmt: skip
    state = packer.client.get("/pack/bench/pack7.json").json
    assert state["order"] == order and state["version"] > before
    # The page the station's browser shows, and its flow, have the order on the bench.
    assert f'data-testid="order">{order}<' in packer.client.get("/pack").text
    assert f'data-testid="order">{order}<' in packer.view("pack")["panel"]
    refused_scan = scan(heavy)
    assert refused_scan.status_code == 409
    assert "Choose a box first" in refused_scan.json["error"]["message"]
    state = packer.client.get("/pack/bench/pack7.json").json
    assert state["outcome"] == "bad" and "Choose a box first" in state["message"]
    good(packer.act("pack", "box", box="medium"))
    done = scan(heavy)
    assert done.status_code == 200 and done.json["kind"] == "product"
    assert done.json["pack"]["step"] == "item" and done.json["pack"]["units"] == 1
    wrong = scan(make_product(api)["sku"])
    assert wrong.status_code == 422 and wrong.json["error"]["code"] == "wrong_item"
    state = packer.client.get("/pack/bench/pack7.json").json
    assert state["outcome"] == "bad" and "put it aside" in state["message"]
    assert packed_of(packer.view("pack")["panel"], heavy) == (2, 1)
    # The station's scale: its reading is offered as the weight.
    assert scanner.post("/api/stations/pack7/scale", {"weight_g": 1234}).status_code == 200
    assert 'value="1.234" data-from-scale' in packer.view("pack")["panel"]
    assert packer.client.get("/pack/bench/pack7.json").json["scale_g"] == 1234
    assert scanner.post("/api/stations/pack7/scale", {"weight_g": -5}).status_code == 422
    assert scanner.post("/api/stations/nope/scale", {"weight_g": 5}).status_code == 404
    assert (
        scanner.as_role("picker").post("/api/stations/pack7/scale", {"weight_g": 5}).status_code
        == 403
    )


def test_a_tote_brings_its_order_and_only_a_supervisor_reopens(
    station_app: Flask,
    staff: dict[str, Person],
    packer: Floor,
    picked: dict[str, Any],  # noqa: F811
) -> None:
    order = picked["order"]
    page = good(packer.scan("pack", picked["tote"]))
    assert f'data-testid="order">{order}<' in page.json["panel"]
    good(packer.act("pack", "box", box="small"))
    good(packer.scan("pack", picked["light"]))
    assert "Carton 1 closed" in said(good(packer.act("pack", "close", carton="1", weight_kg="0.4")))
    assert 'data-action="reopen"' not in packer.view("pack")["panel"]
    refused(packer.act("pack", "reopen", carton="1"), 403, "Only a supervisor", "forbidden")
    assert statuses(packer.view("pack")["panel"]) == ["closed"]
    lead = packer_at(station_app, staff["supervisor"])
    assert 'data-action="reopen"' in lead.view("pack")["panel"]
    page = lead.act("pack", "reopen", carton="1")
    assert page.status_code == 200 and page.json["outcome"] == "warn"
    assert "Carton 1 reopened" in said(plain(page))
    assert "Scan each item into carton 1" in page.json["panel"]
    assert statuses(packer.view("pack")["panel"]) == ["open"]
    refused(lead.act("pack", "reopen", carton="7"), 404, f"Order {order} has no carton 7")
    # A tote that holds nothing, and a scan that is no order, on a handheld with no order.
    handheld = packer_at(station_app, staff["packer"], station="")
    refused(handheld.scan("pack", "T99999"), 404, "holds no order")
    refused(handheld.scan("pack", "not-a-thing"), 422, "not an order or a tote")
    refused(handheld.act("pack", "box", box="small"), 409, "Scan the tote or the order first")
    assert handheld.view("pack")["state"] == {"station": None}


def pack_in_one(hand: Floor, ready: dict[str, Any]) -> TestResponse:
    """The picked order packed into one large carton, closed at its weight."""
    good(hand.scan("pack", order_code(ready["order"])))
    good(hand.act("pack", "box", box="large"))
    for sku in (ready["heavy"], ready["heavy"], ready["light"]):
        good(hand.scan("pack", sku))
    return good(hand.act("pack", "close", carton="1", weight_kg="1.6"))


def test_packing_on_a_handheld_opens_the_labels_as_pdf(
    handheld: Floor,
    picked: dict[str, Any],  # noqa: F811
) -> None:
    page = pack_in_one(handheld, picked)
    link = re.search(r'href="(/pack/jobs/\d+\.pdf)"', page.json["panel"])
    assert link is not None and "Order packed" in page.json["panel"]
    label = handheld.client.get(link[1])
    assert label.status_code == 200 and label.data.startswith(b"%PDF")
    assert '<span class="status">sent</span> on hand' in handheld.view("pack")["panel"]


def test_a_packed_order_scanned_on_a_handheld_can_be_reopened_by_a_supervisor(
    station_app: Flask,
    staff: dict[str, Person],
    handheld: Floor,
    picked: dict[str, Any],  # noqa: F811
) -> None:
    order = picked["order"]
    pack_in_one(handheld, picked)
    # Scanned again: shown, with a warning, not refused, and not packed twice.
    again = handheld.scan("pack", order_code(order))
    assert again.status_code == 200 and again.json["outcome"] == "warn"
    assert f"Order {order} is packed already" in said(again)
    refused(handheld.act("pack", "box", box="small"), 409, "packed already")
    lead = packer_at(station_app, staff["supervisor"], station="")
    good_or_warn = lead.scan("pack", order_code(order))
    assert good_or_warn.status_code == 200 and 'data-action="reopen"' in good_or_warn.json["panel"]
    assert lead.act("pack", "reopen", carton="1").json["outcome"] == "warn"
    assert "Scan each item into carton 1" in lead.view("pack")["panel"]
    closed = good(lead.act("pack", "close", carton="1", weight_kg="1.6"))
    assert "The order is packed: its labels are printing." in said(closed)
    assert len(re.findall(r'data-testid="label-job"', closed.json["panel"])) == 1


def test_pages_need_the_packing_permission(station_app: Flask, staff: dict[str, Person]) -> None:
    picker = Floor(station_app.test_client(), staff["picker"])
    assert picker.client.get("/pack").status_code == 403
    assert picker.client.get("/api/floor/pack").status_code == 403
    assert picker.scan("pack", "O00000001").status_code == 403
    assert picker.act("pack", "station", station="pack7").status_code == 403
    assert picker.client.get("/pack/bench/pack7.json").status_code == 403


def pack_in_two(packer: Floor, picked: dict[str, Any]) -> None:  # noqa: F811
    """The picked order packed where the packer is: the heavy items, then the light one."""
    good(packer.scan("pack", order_code(picked["order"])))
    for number, (skus, weight) in enumerate(
        (([picked["heavy"]] * 2, "0.95"), ([picked["light"]], "0.4")), start=1
    ):
        good(packer.act("pack", "box", box="small"))
        for sku in skus:
            good(packer.scan("pack", sku))
        good(packer.act("pack", "close", carton=str(number), weight_kg=weight))
    assert 'data-testid="order-packed"' in packer.view("pack")["panel"]


def test_the_dock_loads_each_label_once_and_refuses_another_orders(
    station_app: Flask,
    staff: dict[str, Person],
    packer: Floor,
    api: ApiClient,
    picked: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    other = pick_an_order(api)
    pack_in_two(packer, picked)
    pack_in_two(packer, other)
    order = picked["order"]
    mine, theirs = cartons_of(api, order), cartons_of(api, other["order"])
    dock = packer
    refused(
        dock.scan("dock", f"]C100{mine[0]['sscc']}"), 422,
        f"Carton 1 is of order {order}: scan the order's packing slip first",
    )  # fmt: skip
    unknown = with_check_digit("06141410999999999")
    refused(dock.scan("dock", f"]C100{unknown}"), 422, "Scan the order's packing slip")
    page = good(dock.scan("dock", order_code(order)))
    assert page.json["state"] == {"order": order}
    assert mine[0]["tracking"] in page.json["panel"] and mine[1]["tracking"] in page.json["panel"]
    refused(
        dock.scan("dock", f"]C100{theirs[0]['sscc']}"), 422, f"of order {other['order']}",
        "label_mismatch",
    )  # fmt: skip
    page = good(dock.scan("dock", f"]C100{mine[0]['sscc']}"))
    assert "Carton 1 loaded" in said(page) and page.json["panel"].count(">loaded<") == 1
    refused(dock.scan("dock", f"]C100{mine[0]['sscc']}"), 409, "scanned already")
    page = good(dock.scan("dock", mine[1]["tracking"]))
    assert f"Order {order} has shipped" in said(page) and page.json["state"] == {}
    # The same label scanned again once the order has left.
    refused(dock.scan("dock", mine[1]["tracking"]), 409, f"Carton 2 of order {order} has shipped")
    assert api.get(f"/api/orders/{order}").json["status"] == "shipped"
    assert api.get(f"/api/stock/{picked['heavy']}").json["on_hand"] == 3
    # By hand: for supervisors only.
    good(dock.scan("dock", order_code(other["order"])))
    refused(dock.act("dock", "confirm"), 403, "Only a supervisor", "forbidden")
    assert api.get(f"/api/orders/{other['order']}").json["status"] == "packed"
    lead = packer_at(station_app, staff["supervisor"])
    good(lead.scan("dock", order_code(other["order"])))
    assert "confirmed by hand" in said(good(lead.act("dock", "confirm")))
    assert api.get(f"/api/orders/{other['order']}").json["status"] == "shipped"
    refused(lead.scan("dock", order_code(other["order"])), 409, "has shipped already")
    db.rollback()
    assert check_invariants(db) == []


def test_the_agent_sends_stable_scale_weights_to_the_page(
    station_app: Flask,
    tokens: dict[str, str],
    packer: Floor,
    pty: tuple[int, str],
) -> None:
    master, path = pty
    client = httpx.Client(
        transport=httpx.WSGITransport(app=station_app),
        headers={"Authorization": f"Bearer {tokens['packer']}"},
    )
    reporter = ScaleReporter(client, "http://service", "pack7")
    stop = threading.Event()
    reader = threading.Thread(
        target=reporter.report, args=(serial_scans(path, 9600, "any", stop), stop)
    )
    reader.start()
    try:
        # A scale prints continuously; the port may open after the first lines.
        deadline = time.monotonic() + 5
        while reporter.last != 875 and time.monotonic() < deadline:
            os.write(master, b"US,GS,+  0.400kg\r\nST,GS,+  0.875kg\r\n")
            time.sleep(0.1)
    finally:
        stop.set()
        reader.join()
    assert reporter.last == 875
    assert packer.client.get("/pack/bench/pack7.json").json["scale_g"] == 875


def test_a_case_code_packs_its_units(packer: Floor, api: ApiClient) -> None:
    unit = random_gtin13()
    case = with_check_digit("1" + unit[:12])
    sku = make_product(api, weight_g=100, barcodes=[unit], cases=[{"code": case, "units": 6}])[
        "sku"
    ]
    order = pick_lines(api, {sku: 7})["order"]
    good(packer.scan("pack", order_code(order)))
    good(packer.act("pack", "box", box="medium"))
    assert f"6 x {sku} packed" in said(good(packer.scan("pack", case)))
    # Another case would be 5 too many; the last unit goes in by its own code.
    refused(packer.scan("pack", case), 422, "One too many: 1 of")
    good(packer.scan("pack", unit))
    page = good(packer.act("pack", "close", carton="1", weight_kg="1.0"))
    assert "Order packed: 1 carton." in page.json["panel"]


def test_following_the_bench_does_not_keep_an_idle_session_alive(packer: Floor) -> None:
    with packer.client.session_transaction() as session:
        session["seen"] = seen = time.time() - 60
    assert packer.client.get("/pack/bench/pack7.json").status_code == 200
    with packer.client.session_transaction() as session:
        assert session["seen"] == seen
    # A person's own request does count.
    assert packer.client.get("/pack").status_code == 200
    with packer.client.session_transaction() as session:
        assert session["seen"] > seen
    # Idle past the limit: the poll is sent to sign in, and the page reloads to show it.
    with packer.client.session_transaction() as session:
        session["seen"] = time.time() - 16 * 60
    assert packer.client.get("/pack/bench/pack7.json").status_code == 302


# The traps of a pack bench, on a handheld: each refused in floor words, and nothing changed.


@pytest.fixture
def on_the_bench(
    handheld: Floor,
    picked: dict[str, Any],  # noqa: F811
) -> dict[str, Any]:
    """The picked order on the handheld's bench, no box chosen yet."""
    good(handheld.scan("pack", order_code(picked["order"])))
    return picked


BOX = ("act", "box", {"box": "small"})


@pytest.mark.parametrize(
    ("events", "status", "words", "code"),
    [
        ([("scan", "{heavy}")], 409, "Choose a box first.", "no_open_carton"),
        ([BOX, ("scan", "{stranger}")], 422, "is not in order {order}: put it aside",
         "wrong_item"),
        ([BOX, ("scan", "{light}"), ("scan", "{light}")], 422, "One too many: 0 of {light}",
         "too_many"),
        ([BOX, ("scan", "{heavy}"), ("act", "more", {"units": "5"})], 422,
         "One too many: 1 of {heavy} left to pack, not 5", "too_many"),
        ([BOX, ("scan", "{heavy}"), ("act", "more", {"units": "2"})], 422,
         "One too many: 1 of {heavy} left to pack, not 2", "too_many"),
        ([BOX, ("scan", "{heavy}"), ("act", "more", {"units": "6141410000981"})], 422,
         "looks like a scanned barcode", "barcode_as_quantity"),
        ([BOX, ("scan", "{heavy}"), ("act", "more", {"units": "0"})], 422,
         "Units must be 1 or more.", None),
        ([BOX, ("scan", "{heavy}"), ("act", "more", {"units": "-1"})], 422,
         "Units must be 1 or more.", None),
        ([BOX, ("scan", "{heavy}"), ("act", "more", {"units": "1.5"})], 422,
         "Units must be a whole number.", None),
        ([BOX, ("scan", "{heavy}"), ("act", "more", {"units": "10001"})], 422,
         "Units is 10000 at most", None),
        ([BOX, ("act", "more", {"units": "1"})], 409,
         "Scan one item into the open carton first", "item_first"),
        ([("act", "more", {"units": "1"})], 409,
         "Scan one item into the open carton first", "item_first"),
        ([BOX, ("act", "close", {"carton": "1", "weight_kg": "0.2"})], 409,
         "The carton is empty", "empty_carton"),
        ([BOX, BOX], 409, "Close the open carton first.", "carton_open"),
        ([("act", "explode", {})], 422, "no button", "unknown_action"),
    ],
    ids=[
        "item-before-a-box", "another-orders-item", "one-more-than-the-line",
        "keypad-above-the-line", "keypad-one-above-the-line", "keypad-barcode", "keypad-zero",
        "keypad-negative", "keypad-fraction", "keypad-past-the-most", "keypad-before-a-scan",
        "keypad-before-a-box", "empty-carton-closed", "second-box",
        "unknown-button",
    ],
)  # fmt: skip
def test_pack_traps_are_refused_and_change_nothing(
    handheld: Floor,
    api: ApiClient,
    on_the_bench: dict[str, Any],
    db: Session,
    events: list[Any],
    status: int,
    words: str,
    code: str | None,
) -> None:
    order = on_the_bench["order"]
    names = {"order": order, "heavy": on_the_bench["heavy"], "light": on_the_bench["light"]}
    if any("{stranger}" in str(event) for event in events):
        names["stranger"] = pick_an_order(api)["heavy"]

    def send(kind: str, value: str, values: dict[str, str] | None = None) -> TestResponse:
        if kind == "scan":
            return handheld.scan("pack", value.format(**names))
        return handheld.act("pack", value, **(values or {}))

    *leading, last = events
    for event in leading:
        good(send(*event))
    before = handheld.view("pack")
    answer = send(*last)
    refused(answer, status, words.format(**names), code)
    # Nothing changed: the same state, the same screen (cartons, units packed, prompts).
    assert handheld.view("pack") == before and before["state"]["order"] == order
    assert api.get(f"/api/orders/{order}").json["status"] == "picking"
    # The refusal is logged with what the packer was told, not lost.
    db.rollback()
    logged = db.scalars(
        select(ScanLog).where(ScanLog.accepted.is_(False)).order_by(ScanLog.id.desc()).limit(1)
    ).one()
    assert logged.message == said(answer)


def test_the_keypad_counts_only_the_item_scanned_into_this_carton(
    handheld: Floor, api: ApiClient, on_the_bench: dict[str, Any]
) -> None:
    heavy = on_the_bench["heavy"]
    good(handheld.act("pack", "box", box="small"))
    good(handheld.scan("pack", heavy))
    assert f"1 more {heavy} in carton 1" in said(good(handheld.act("pack", "more", units="1")))
    assert packed_of(handheld.view("pack")["panel"], heavy) == (2, 2)
    good(handheld.act("pack", "close", carton="1", weight_kg="0.95"))
    # A new box: nothing scanned into it yet, so the keypad has no item to count.
    page = good(handheld.act("pack", "box", box="small"))
    assert 'data-testid="more"' not in page.json["panel"]
    refused(handheld.act("pack", "more", units="1"), 409, "Scan one item into the open carton")
    assert packed_of(handheld.view("pack")["panel"], on_the_bench["light"]) == (1, 0)


def test_a_carton_is_not_reopened_while_another_is_open(
    station_app: Flask,
    staff: dict[str, Person],
    picked: dict[str, Any],  # noqa: F811
) -> None:
    lead = packer_at(station_app, staff["supervisor"], station="")
    good(lead.scan("pack", order_code(picked["order"])))
    good(lead.act("pack", "box", box="small"))
    good(lead.scan("pack", picked["heavy"]))
    good(lead.act("pack", "close", carton="1", weight_kg="0.55"))
    good(lead.act("pack", "box", box="small"))
    before = lead.view("pack")
    # Two open cartons, and the next scan would go into either.
    refused(lead.act("pack", "reopen", carton="1"), 409, "Close the open carton first.",
            "carton_open")  # fmt: skip
    assert lead.view("pack") == before and statuses(before["panel"]) == ["closed", "open"]
    assert "into carton 2" in said(good(lead.scan("pack", picked["heavy"])))


def test_a_carton_reopened_after_packing_gets_a_new_label_and_the_dock_wants_it(
    station_app: Flask,
    staff: dict[str, Person],
    packer: Floor,
    api: ApiClient,
    picked: dict[str, Any],  # noqa: F811
    station_config: Config,
    factory: sessionmaker[Session],
    bench_printer: FakePrinter,
    db: Session,
) -> None:
    order = picked["order"]
    pack_in_two(packer, picked)
    first, second = cartons_of(api, order)
    old_sscc, old_job = first["sscc"], first["label_job"]["id"]
    assert old_sscc and first["label_job"]["status"] == "queued"
    # The dock has the order up when a supervisor at the bench reopens carton 1.
    dock = packer_at(station_app, staff["packer"], station="")
    good(dock.scan("dock", order_code(order)))
    lead = packer_at(station_app, staff["supervisor"])
    page = lead.act("pack", "reopen", carton="1")
    assert page.status_code == 200 and page.json["outcome"] == "warn"
    assert "Carton 1 reopened: its label will be printed anew" in said(plain(page))
    assert statuses(page.json["panel"]) == ["open", "closed"]
    assert api.get(f"/api/orders/{order}").json["status"] == "picking"
    assert job_status(db, old_job) == "replaced"
    # The other carton's label still stands, but nothing of the order leaves while it is
    # being packed again.
    refused(dock.scan("dock", f"]C100{second['sscc']}"), 409, "not packed")
    refused(dock.scan("dock", order_code(order)), 409, "not packed")
    assert [c["status"] for c in cartons_of(api, order)] == ["open", "closed"]
    # Closed again: a new label with a new SSCC; the other carton keeps its own.
    page = good(lead.act("pack", "close", carton="1", weight_kg="0.95"))
    assert "The order is packed" in said(page)
    again, same = cartons_of(api, order)
    assert again["sscc"] and again["sscc"] != old_sscc and same["sscc"] == second["sscc"]
    assert again["label_job"]["id"] != old_job and same["label_job"] == second["label_job"]
    new = {again["sscc"], same["sscc"]}
    seen = printed(factory, station_config, bench_printer, new)
    # The new labels once each, and the void one not before them, nor with them.
    assert [seen[sscc] for sscc in new] == [1, 1] and seen[old_sscc] == 0
    # The dock refuses the old label and wants the new one.
    good(dock.scan("dock", order_code(order)))
    refused(dock.scan("dock", f"]C100{old_sscc}"), 422, "reopened has its new label",
            "label_mismatch")  # fmt: skip
    assert [c["status"] for c in cartons_of(api, order)] == ["closed", "closed"]
    assert "Carton 1 loaded" in said(good(dock.scan("dock", f"]C100{again['sscc']}")))
    assert "has shipped" in said(good(dock.scan("dock", f"]C100{same['sscc']}")))
    assert api.get(f"/api/orders/{order}").json["status"] == "shipped"
    db.rollback()
    assert check_invariants(db) == []


def test_a_reprint_of_a_label_not_printed_yet_is_not_doubled(
    packer: Floor,
    api: ApiClient,
    picked: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    pack_in_two(packer, picked)
    job = cartons_of(api, picked["order"])[0]["label_job"]
    assert job["status"] == "queued"
    count = job_count(db)
    for _ in range(2):
        page = packer.act("pack", "reprint", job=str(job["id"]))
        assert page.status_code == 200 and "bench7" in said(plain(page))
        assert "tried again" in said(page)
    assert job_count(db) == count
    assert job_status(db, job["id"]) == "queued"
    assert cartons_of(api, picked["order"])[0]["label_job"]["id"] == job["id"]
    refused(packer.act("pack", "reprint", job="0"), 422, "The job number must be 1 or more")
    refused(packer.act("pack", "reprint", job="999999"), 404, "No print job has id 999999")
    assert job_count(db) == count


def test_a_printer_that_refuses_shows_the_label_did_not_print(
    packer: Floor,
    api: ApiClient,
    picked: dict[str, Any],  # noqa: F811
    station_config: Config,
    factory: sessionmaker[Session],
    db: Session,
) -> None:
    # No printer listens on bench7's port: each connection is refused.
    order = picked["order"]
    good(packer.scan("pack", order_code(order)))
    good(packer.act("pack", "box", box="medium"))
    for sku in (picked["heavy"], picked["heavy"], picked["light"]):
        good(packer.scan("pack", sku))
    good(packer.act("pack", "close", carton="1", weight_kg="1.35"))
    (carton,) = cartons_of(api, order)
    job = tried(factory, station_config, db, carton["label_job"]["id"])
    assert job.status == "queued" and "refused the connection" in job.last_error
    panel = packer.view("pack")["panel"]
    assert 'data-testid="label-failure"' in panel
    assert "The label of carton 1 did not print" in panel and "refused the connection" in panel
    for word in NOT_FLOOR_WORDS:
        assert word not in panel, word
    # The station's page, following its bench, learns of it though the bench did not move.
    assert packer.client.get("/pack/bench/pack7.json").json["failing"] == 1
    assert 'data-failing="1"' in panel
    # Trying the same printer again is not shown as done while it is still off.
    page = packer.act("pack", "reprint", job=str(carton["label_job"]["id"]))
    assert page.status_code == 200 and page.json["outcome"] == "warn"
    assert "did not print" in said(plain(page))
    assert 'data-testid="label-failure"' in page.json["panel"]
    # This handheld's PDF instead: the failure is gone, and one label is left to print.
    page = good(packer.act("pack", "print_to", carton="1", printer="hand"))
    assert "goes to hand" in said(page)
    assert 'data-testid="label-failure"' not in page.json["panel"]
    link = re.search(r'href="(/pack/jobs/\d+\.pdf)"', page.json["panel"])
    assert link is not None
    assert job_status(db, carton["label_job"]["id"]) == "replaced"
    assert packer.client.get("/pack/bench/pack7.json").json["failing"] == 0
    assert packer.client.get(link[1]).data.startswith(b"%PDF")
    assert '<span class="status">sent</span> on hand' in packer.view("pack")["panel"]


class _CommittedJobs(threading.Event):
    """The printing thread's wake-up call, noting when it is rung how many label jobs of an
    order another connection (the printing thread's) can see."""

    def __init__(self, sessions: sessionmaker[Session], title: str):
        super().__init__()
        self.sessions, self.title, self.seen = sessions, title, list[int]()

    def set(self) -> None:
        with self.sessions() as session:
            jobs = (
                select(func.count())
                .select_from(PrintJob)
                .where(PrintJob.title.contains(self.title))
            )
            self.seen.append(int(session.scalar(jobs) or 0))
        super().set()


def test_the_printing_thread_is_woken_once_the_label_is_committed(
    packer: Floor,
    api: ApiClient,
    picked: dict[str, Any],  # noqa: F811
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Woken before the close is committed, it would find nothing to send, and the label
    # would wait for its next poll.
    order = picked["order"]
    good(packer.scan("pack", order_code(order)))
    good(packer.act("pack", "box", box="medium"))
    for sku in (picked["heavy"], picked["heavy"], picked["light"]):
        good(packer.scan("pack", sku))
    wake = _CommittedJobs(factory, api.get(f"/api/orders/{order}").json["external_id"])
    monkeypatch.setattr(printing, "_wake", wake)
    good(packer.act("pack", "close", carton="1", weight_kg="1.35"))
    assert wake.is_set() and set(wake.seen) == {1}


def test_a_program_packs_over_json_with_the_pages_rules(
    station_app: Flask, tokens: dict[str, str]
) -> None:
    api = ApiClient(station_app.test_client(), tokens)
    made = pick_an_order(api)
    order = made["order"]
    code = {
        sku: api.get(f"/api/products/{sku}").json["barcodes"][0]
        for sku in (made["heavy"], made["light"])
    }
    cartons = f"/api/orders/{order}/cartons"
    assert api.as_role("picker").post(cartons, {"box": "small"}).status_code == 403
    assert api.post(cartons, {"box": "crate"}).status_code == 422
    assert api.post("/api/orders/999999999/cartons", {"box": "small"}).status_code == 404
    opened = api.post(cartons, {"box": "small"})
    assert opened.status_code == 201
    assert opened.json == {"number": 1, "box": "small", "status": "open", "weight_g": None,
                           "expected_g": None, "items": []}  # fmt: skip
    assert api.post(cartons, {"box": "small"}).json["error"]["code"] == "carton_open"

    scans = f"{cartons}/1/scans"
    heavy, light = code[made["heavy"]], code[made["light"]]
    for bad, status, error in (
        ({"code": heavy, "qty": 0}, 422, "invalid_input"),
        ({"code": heavy, "qty": -3}, 422, "invalid_input"),
        ({"code": heavy, "qty": 3}, 422, "too_many"),
        ({"code": "4006381333931"}, 422, "wrong_item"),
        ({"code": ""}, 422, "invalid_input"),
    ):
        answer = api.post(scans, bad)
        assert (answer.status_code, answer.json["error"]["code"]) == (status, error), bad
    assert api.post(f"{cartons}/9/scans", {"code": heavy}).status_code == 404
    packed = api.post(scans, {"code": heavy, "qty": 2, "scan_id": "pack-heavy-1"})
    assert packed.status_code == 200
    assert packed.json == {"sku": made["heavy"], "units": 2, "carton": 1}
    # The same scan sent again is answered as the first time and packs nothing more.
    again = api.post(scans, {"code": heavy, "qty": 2, "scan_id": "pack-heavy-1"})
    assert again.json == packed.json
    assert api.post(scans, {"code": heavy})
    assert api.post(scans, {"code": light}).status_code == 200

    close = f"{cartons}/1/close"
    assert api.post(close, {"weight_g": 0}).status_code == 422
    assert api.post(close, {"weight_g": -3}).status_code == 422
    # 2 x 400 g + 250 g + a 150 g box = 1,200 g.
    held = api.post(close, {"weight_g": 1900})
    assert held.status_code == 200 and held.json["status"] == "held"
    assert held.json["expected_g"] == 1200
    assert api.get(f"/api/orders/{order}").json["status"] == "picking"
    assert api.post(close, {"weight_g": 1210, "station": "nowhere"}).status_code == 404
    key = {"Idempotency-Key": ref("close")}
    closed = api.request("POST", close, {"weight_g": 1210, "station": "pack7"}, headers=key)
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert sorted((i["sku"], i["qty"]) for i in closed.json["items"]) == sorted(
        [(made["heavy"], 2), (made["light"], 1)]
    )
    replayed = api.request("POST", close, {"weight_g": 1210, "station": "pack7"}, headers=key)
    assert replayed.json == closed.json
    assert api.get(f"/api/orders/{order}").json["status"] == "packed"
    assert api.post(scans, {"code": light}).json["error"]["code"] == "carton_not_open"
    jobs = [job for job in api.get("/api/print-jobs").json["jobs"] if job["printer"] == "bench7"]
    external = api.get(f"/api/orders/{order}").json["external_id"]
    titles = [job["title"] for job in jobs if job["title"].endswith(f"order {external}")]
    assert titles == [f"label, carton 1 of 1, order {external}"]
