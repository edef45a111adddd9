"""The pack station by form posts and by the station agent's scans: scan the tote or the
order, choose a box, scan each item in (a wrong one refused), weigh and close, labels out."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from scanners.gtin import with_check_digit
from station_agent.readers import serial_scans
from station_agent.scale import ScaleReporter
from tests.api.test_floor import Handheld, outcome_of
from tests.api.test_packing import (  # noqa: F401 (fixtures)
    factory,
    pick_an_order,
    pick_lines,
    picked,
)
from tests.conftest import (
    ApiClient,
    Person,
    free_port,
    make_product,
    random_gtin13,
    service_app,
    shipment_of,
)
from tests.printer import FakePrinter
from warehouse import printing
from warehouse.config import Config, PrinterConfig, StationConfig
from warehouse.invariants import check_invariants


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


def packer_at(app: Flask, person: Person, station: str = "pack7") -> Handheld:
    packer = Handheld(app.test_client(), person)
    assert packer.client.get(f"/pack?station={station}").status_code == 200
    return packer


@pytest.fixture
def packer(station_app: Flask, staff: dict[str, Person]) -> Handheld:
    return packer_at(station_app, staff["packer"])


def agent(station_app: Flask, tokens: dict[str, str]) -> ApiClient:
    """The station agent: its scans carry the station's name and a packer's token."""
    return ApiClient(station_app.test_client(), tokens, "packer")


def order_code(order: int) -> str:
    return f"O{order:08d}"


def test_an_order_packed_at_a_station_into_two_cartons(
    packer: Handheld,
    api: ApiClient,
    picked: dict[str, Any],  # noqa: F811
    station_config: Config,
    factory: sessionmaker[Session],  # noqa: F811
    bench_printer: FakePrinter,
    db: Session,
) -> None:
    order, heavy, light = picked["order"], picked["heavy"], picked["light"]
    page = packer.post("/pack", code=order_code(order))
    assert page.status_code == 200 and outcome_of(page) == "good"
    assert heavy in page.text and "Choose a box" in page.text
    # An item before a box, and a box that is not in config.toml: refused.
    page = packer.post(f"/pack/{order}", code=heavy)
    assert page.status_code == 422 and "Choose a box first" in page.text
    assert packer.post(f"/pack/{order}", action="box", box="crate").status_code == 422
    page = packer.post(f"/pack/{order}", action="box", box="small")
    assert "Scan each item into carton 1" in page.text
    assert outcome_of(packer.post(f"/pack/{order}", code=heavy)) == "good"
    # The wrong item, then one too many of the right one: refused with the bad sound.
    stranger = make_product(api)["sku"]
    page = packer.post(f"/pack/{order}", code=stranger)
    assert page.status_code == 422 and outcome_of(page) == "bad" and "not in order" in page.text
    assert outcome_of(packer.post(f"/pack/{order}", code=heavy)) == "good"
    page = packer.post(f"/pack/{order}", code=heavy)
    assert page.status_code == 422 and "One too many" in page.text
    # Weights that are no carton's: nothing changes.
    carton = re.search(r'name="carton" value="(\d+)"', page.text)[1]  # type: ignore[index]
    for typed in ("0", "-3", "900", "abc", "nan", ""):
        page = packer.post(f"/pack/{order}", action="close", carton=carton, weight_kg=typed)
        assert page.status_code == 422 and outcome_of(page) == "bad", typed
    assert 'data-status="open"' in page.text
    page = packer.post(f"/pack/{order}", action="close", carton=carton, weight_kg="0.95")
    assert "Carton 1 closed" in page.text and "Another box" in page.text
    packer.post(f"/pack/{order}", action="box", box="small")
    assert outcome_of(packer.post(f"/pack/{order}", code=light)) == "good"
    # 5 kg for a 400 g carton: held for a re-check, no label yet.
    page = packer.post(f"/pack/{order}", action="close", carton=int(carton) + 1, weight_kg="5")
    assert page.status_code == 422 and "should weigh about 400 g" in page.text
    assert 'data-status="held"' in page.text and bench_printer.jobs == []
    page = packer.post(f"/pack/{order}", action="close", carton=int(carton) + 1, weight_kg="0.41")
    assert "Carton 2 closed" in page.text and "Order packed: 2 cartons" in page.text
    # The two labels reach the station's printer: one per carton.
    printing.dispatch(factory, station_config.printers)
    labels = bench_printer.wait_for(2)
    assert len(labels) == 2 and {label.count(b"^XA") for label in labels} == {1}
    ssccs = {re.search(rb">;>800(\d{18})", label)[1] for label in labels}  # type: ignore[index]
    assert len(ssccs) == 2
    slip = packer.client.get(f"/pack/{order}/slip.pdf")
    assert slip.status_code == 200 and slip.data.startswith(b"%PDF")
    assert api.get(f"/api/orders/{order}").json["status"] == "packed"
    db.rollback()
    assert check_invariants(db) == []


def test_station_agent_scans_go_to_the_order_on_the_bench(
    station_app: Flask,
    packer: Handheld,
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
    # The page the station's browser is sent to shows the order.
    assert f'data-testid="order">{order}<' in packer.client.get("/pack").text
    refused = scan(heavy)
    assert refused.status_code == 409 and "Choose a box first" in refused.json["error"]["message"]
    state = packer.client.get("/pack/bench/pack7.json").json
    page = packer.client.get(f"/pack/{order}?bench={state['version']}")
    assert outcome_of(page) == "bad" and "Choose a box first" in page.text
    packer.post(f"/pack/{order}", action="box", box="medium")
    done = scan(heavy)
    assert done.status_code == 200 and done.json["kind"] == "product"
    assert done.json["pack"]["step"] == "item" and done.json["pack"]["units"] == 1
    wrong = scan(make_product(api)["sku"])
    assert wrong.status_code == 422 and wrong.json["error"]["code"] == "wrong_item"
    state = packer.client.get("/pack/bench/pack7.json").json
    page = packer.client.get(f"/pack/{order}?bench={state['version']}")
    assert outcome_of(page) == "bad" and "put it aside" in page.text
    assert re.search(
        r'data-sku="' + heavy + r'">.*?data-testid="picked">2</td><td data-testid="packed">1<',
        page.text,
        re.S,
    )
    # The station's scale: its reading is offered as the weight.
    assert scanner.post("/api/stations/pack7/scale", {"weight_g": 1234}).status_code == 200
    page = packer.client.get(f"/pack/{order}")
    assert 'value="1.234" data-from-scale' in page.text
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
    packer: Handheld,
    picked: dict[str, Any],  # noqa: F811
) -> None:
    order = picked["order"]
    page = packer.post("/pack", code=picked["tote"])
    assert outcome_of(page) == "good", page.text
    assert f'data-testid="order">{order}<' in page.text
    packer.post(f"/pack/{order}", action="box", box="small")
    packer.post(f"/pack/{order}", code=picked["light"])
    carton = re.search(r'name="carton" value="(\d+)"', packer.client.get(f"/pack/{order}").text)[1]  # type: ignore[index]
    assert (
        "Carton 1 closed"
        in packer.post(f"/pack/{order}", action="close", carton=carton, weight_kg="0.4").text
    )
    page = packer.post(f"/pack/{order}", action="reopen", carton=carton)
    assert page.status_code == 403 and "Reopen" not in page.text
    lead = packer_at(station_app, staff["supervisor"])
    page = lead.post(f"/pack/{order}", action="reopen", carton=carton)
    assert page.status_code == 200 and "Carton reopened" in page.text
    assert "Scan each item into carton 1" in page.text
    empty = packer.post("/pack", code="T99999")
    assert empty.status_code == 422 and "holds no order" in empty.text
    nothing = packer.post("/pack", code="not-a-thing")
    assert nothing.status_code == 422 and "not an order or a tote" in nothing.text


def test_packing_on_a_handheld_opens_the_labels_as_pdf(
    station_app: Flask,
    staff: dict[str, Person],
    picked: dict[str, Any],  # noqa: F811
) -> None:
    hand = packer_at(station_app, staff["packer"], station="")
    order = picked["order"]
    hand.post("/pack", code=order_code(order))
    hand.post(f"/pack/{order}", action="box", box="large")
    for sku in (picked["heavy"], picked["heavy"], picked["light"]):
        assert outcome_of(hand.post(f"/pack/{order}", code=sku)) == "good"
    carton = re.search(r'name="carton" value="(\d+)"', hand.client.get(f"/pack/{order}").text)[1]  # type: ignore[index]
    page = hand.post(f"/pack/{order}", action="close", carton=carton, weight_kg="1.6")
    link = re.search(r'href="(/pack/jobs/\d+\.pdf)"', page.text)
    assert link is not None and "Order packed" in page.text
    label = hand.client.get(link[1])
    assert label.status_code == 200 and label.data.startswith(b"%PDF")
    assert "sent" in hand.client.get(f"/pack/{order}").text


def test_pages_need_the_packing_permission(station_app: Flask, staff: dict[str, Person]) -> None:
    picker = Handheld(station_app.test_client(), staff["picker"])
    assert picker.client.get("/pack").status_code == 403
    assert picker.post("/pack", code="O00000001").status_code == 403


def pack_in_two(packer: Handheld, picked: dict[str, Any]) -> None:  # noqa: F811
    """The picked order packed at the station: the heavy items, then the light one."""
    order = picked["order"]
    packer.post("/pack", code=order_code(order))
    for skus, weight in (([picked["heavy"]] * 2, "0.95"), ([picked["light"]], "0.4")):
        page = packer.post(f"/pack/{order}", action="box", box="small")
        for sku in skus:
            assert outcome_of(packer.post(f"/pack/{order}", code=sku)) == "good"
        carton = re.search(r'name="carton" value="(\d+)"', page.text)[1]  # type: ignore[index]
        packer.post(f"/pack/{order}", action="close", carton=carton, weight_kg=weight)
    assert api_status(packer, order) == "packed"


def api_status(hand: Handheld, order: int) -> str:
    found = re.search(r'class="status">(\w+)<', hand.client.get(f"/pack/{order}").text)
    return found[1] if found else ""


def test_the_dock_loads_each_label_once_and_refuses_another_orders(
    station_app: Flask,
    staff: dict[str, Person],
    packer: Handheld,
    api: ApiClient,
    picked: dict[str, Any],  # noqa: F811
    db: Session,
) -> None:
    other = pick_an_order(api)
    pack_in_two(packer, picked)
    pack_in_two(packer, other)
    order = picked["order"]
    mine = api.get(f"/api/shipments/{shipment_of(api, order)}").json["cartons"]
    theirs = api.get(f"/api/shipments/{shipment_of(api, other['order'])}").json["cartons"]
    dock = packer_at(station_app, staff["packer"])
    assert "packing slip first" in dock.post("/dock", code=f"]C100{mine[0]['sscc']}").text
    assert outcome_of(dock.post("/dock", code=order_code(order))) == "good"
    page = dock.post("/dock", order=order, code=f"]C100{theirs[0]['sscc']}")
    assert page.status_code == 422 and f"of order {other['order']}" in page.text
    page = dock.post("/dock", order=order, code=f"]C100{mine[0]['sscc']}")
    assert outcome_of(page) == "good" and "Carton 1 loaded" in page.text
    page = dock.post("/dock", order=order, code=f"]C100{mine[0]['sscc']}")
    assert page.status_code == 422 and "scanned already" in page.text
    page = dock.post("/dock", order=order, code=mine[1]["tracking"])
    assert "The order has shipped" in page.text
    assert api.get(f"/api/orders/{order}").json["status"] == "shipped"
    assert api.get(f"/api/stock/{picked['heavy']}").json["on_hand"] == 3
    # By hand: for supervisors only.
    refused = dock.post("/dock", order=other["order"], action="confirm")
    assert refused.status_code == 403
    lead = packer_at(station_app, staff["supervisor"])
    assert "confirmed by hand" in lead.post("/dock", order=other["order"], action="confirm").text
    assert api.get(f"/api/orders/{other['order']}").json["status"] == "shipped"
    db.rollback()
    assert check_invariants(db) == []


def test_the_agent_sends_stable_scale_weights_to_the_page(
    station_app: Flask,
    tokens: dict[str, str],
    packer: Handheld,
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


def test_a_case_code_packs_its_units(
    packer: Handheld, api: ApiClient, staff: dict[str, Person]
) -> None:
    unit = random_gtin13()
    case = with_check_digit("1" + unit[:12])
    sku = make_product(api, weight_g=100, barcodes=[unit], cases=[{"code": case, "units": 6}])[
        "sku"
    ]
    order = pick_lines(api, {sku: 7})["order"]
    packer.post("/pack", code=order_code(order))
    packer.post(f"/pack/{order}", action="box", box="medium")
    page = packer.post(f"/pack/{order}", code=case)
    assert outcome_of(page) == "good" and f"6 x {sku} packed" in page.text
    # Another case would be 5 too many; the last unit goes in by its own code.
    page = packer.post(f"/pack/{order}", code=case)
    assert page.status_code == 422 and "One too many: 1 of" in page.text
    assert outcome_of(packer.post(f"/pack/{order}", code=unit)) == "good"
    carton = re.search(r'name="carton" value="(\d+)"', page.text)[1]  # type: ignore[index]
    page = packer.post(f"/pack/{order}", action="close", carton=carton, weight_kg="1.0")
    assert "Order packed: 1 carton." in page.text


def test_following_the_bench_does_not_keep_an_idle_session_alive(packer: Handheld) -> None:
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
