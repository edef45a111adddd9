"""Packing: picked units scanned into cartons, cartons weighed within tolerance, nothing
packed that was not picked."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_pick_flow import confirm, put_totes, start
from tests.api.test_picking import layout_bin, place_order
from tests.conftest import (
    ApiClient,
    free_port,
    make_channel,
    make_product,
    receive,
    shipment_of,
)
from tests.printer import FakePrinter
from warehouse import labelling, packing, printing, shipping, stations
from warehouse.config import Config, PrinterConfig
from warehouse.db import writing
from warehouse.errors import WarehouseError
from warehouse.invariants import check_invariants
from warehouse.models import PrintJob


@pytest.fixture
def picked(api: ApiClient) -> dict[str, Any]:
    """An order of 2 x a 400 g item and 1 x a 250 g item, picked into its tote."""
    return pick_an_order(api)


def pick_an_order(api: ApiClient) -> dict[str, Any]:
    """An order of 2 x a 400 g item and 1 x a 250 g item, picked into its tote."""
    heavy = make_product(api, weight_g=400)["sku"]
    light = make_product(api, weight_g=250)["sku"]
    return {**pick_lines(api, {heavy: 2, light: 1}), "heavy": heavy, "light": light}


def pick_lines(api: ApiClient, lines: dict[str, int]) -> dict[str, Any]:
    """An order of these units, picked into its tote from bins of the layout that hold a few
    more (5 units where the order wants up to 2)."""
    channel = make_channel(api)
    for sku, qty in lines.items():
        receive(api, sku, layout_bin(api), max(5, qty + 3))
    order = place_order(api, channel, lines)["id"]
    made = api.post("/api/pick-lists", {"orders": [order]}).json
    start(api, made["id"])
    totes = put_totes(api, made)
    for pick in made["picks"]:
        assert confirm(api, made["id"], pick, tote=totes[order]).status_code == 200
    return {"order": order, "tote": totes[order]}


def refused(factory: sessionmaker[Session], act: Any) -> str:
    with pytest.raises(WarehouseError) as caught, writing(factory) as session:
        act(session)
    return caught.value.code


def test_an_order_packed_into_two_cartons(
    factory: sessionmaker[Session], config: Config, picked: dict[str, Any]
) -> None:
    boxes, rules = config.boxes, config.packing
    order = picked["order"]
    with writing(factory) as session:
        first = packing.open_carton(session, order, "small", boxes).id
        packing.pack_item(session, first, picked["heavy"], 1)
        packing.pack_item(session, first, picked["heavy"], 1)
    assert refused(factory, lambda s: packing.pack_item(s, first, picked["heavy"], 1)) == "too_many"
    assert (
        refused(factory, lambda s: packing.pack_item(s, first, "SKU-NOT-HERE", 1)) == "wrong_item"
    )
    assert (
        refused(factory, lambda s: packing.open_carton(s, order, "small", boxes)) == "carton_open"
    )
    for weight in (0, -3, 900_000):
        code = refused(factory, lambda s, w=weight: packing.close_carton(s, first, w, boxes, rules))
        assert code == "invalid_input"
    with writing(factory) as session:
        # 2 x 400 g + a 150 g box = 950 g; 1,400 g is off: held for a re-check.
        held = packing.close_carton(session, first, 1400, boxes, rules)
        assert held.status == "held" and held.expected_g == 950
        assert not packing.order_is_packed(session, order)
    with writing(factory) as session:
        assert packing.close_carton(session, first, 960, boxes, rules).status == "closed"
        second = packing.open_carton(session, order, "small", boxes).id
    assert (
        refused(factory, lambda s: packing.close_carton(s, second, 400, boxes, rules))
        == "empty_carton"
    )
    with writing(factory) as session:
        packing.pack_item(session, second, picked["light"], 1)
        packing.close_carton(session, second, 400, boxes, rules)
        assert packing.order_is_packed(session, order)
    assert refused(factory, lambda s: packing.open_carton(s, order, "small", boxes)) == "all_packed"
    with writing(factory) as session:
        assert packing.reopen_carton(session, second).status == "open"
        assert not packing.order_is_packed(session, order)


def test_nothing_is_packed_before_it_is_picked(
    api: ApiClient, factory: sessionmaker[Session], config: Config
) -> None:
    channel = make_channel(api)
    sku = make_product(api)["sku"]
    receive(api, sku, layout_bin(api), 2)
    order = place_order(api, channel, {sku: 1})["id"]
    assert (
        refused(factory, lambda s: packing.open_carton(s, order, "small", config.boxes))
        == "not_picked"
    )
    assert (
        refused(factory, lambda s: packing.open_carton(s, order, "crate", config.boxes))
        == "invalid_input"
    )


def test_packed_order_prints_one_label_per_carton_and_ships_by_label_scans(
    api: ApiClient,
    factory: sessionmaker[Session],
    config: Config,
    picked: dict[str, Any],
    db: Session,
) -> None:
    port = free_port()
    config = config.model_copy(
        update={"printers": {"pack9": PrinterConfig(kind="tcp", host="127.0.0.1", port=port)}}
    )
    boxes, rules, order = config.boxes, config.packing, picked["order"]
    cartons = []
    for sku, qty, weight in ((picked["heavy"], 2, 950), (picked["light"], 1, 400)):
        with writing(factory) as session:
            carton = packing.open_carton(session, order, "small", boxes).id
            packing.pack_item(session, carton, sku, qty)
            packing.close_carton(session, carton, weight, boxes, rules)
        cartons.append(carton)
    with writing(factory) as session:
        jobs = labelling.finish_packing(session, order, config, "pack9")
    assert len(jobs) == 2
    assert (
        refused(factory, lambda s: labelling.finish_packing(s, order, config, "pack9"))
        == "already_packed"
    )
    printer = FakePrinter(port)
    try:
        printing.dispatch(factory, config.printers)
        labels = printer.wait_for(2)
    finally:
        printer.close()
    with factory() as session:
        shipped = [packing.get_carton(session, c) for c in cartons]
    assert len(labels) == 2 and all(label.count(b"^XA") == 1 for label in labels)
    # One label per carton, each carrying that carton's SSCC (GS1-128, FNC1 then AI 00)
    # and its tracking number: never a duplicate, none missing.
    for carton in shipped:
        assert carton.sscc and carton.tracking and carton.status == "closed"
        mine = [label for label in labels if f">;>800{carton.sscc}".encode() in label]
        assert len(mine) == 1 and f">:{carton.tracking}".encode() in mine[0]
    # At the dock: the second carton's label on the first carton is refused.
    first, second = shipped
    code = refused(factory, lambda s: shipping.confirm_label(s, None, first.id, second.sscc or ""))
    assert code == "label_mismatch"
    with writing(factory) as session:
        shipping.confirm_label(session, None, first.id, first.sscc or "")
    assert api.get(f"/api/orders/{order}").json["status"] == "packed"
    with writing(factory) as session:
        shipping.confirm_label(session, None, second.id, second.tracking or "")
    assert api.get(f"/api/orders/{order}").json["status"] == "shipped"
    heavy = api.get(f"/api/stock/{picked['heavy']}").json
    assert heavy["on_hand"] == 3 and heavy["reserved"] == 0
    db.rollback()
    assert check_invariants(db) == []


def test_shipment_labels_over_the_api(api: ApiClient, packed_order: int) -> None:
    shipment = shipment_of(api, packed_order)
    zpl = api.as_role("integration").get(f"/api/shipments/{shipment}/label?format=zpl")
    assert zpl.status_code == 200 and zpl.data.startswith(b"^XA") and b"^PW812" in zpl.data
    second = api.get(f"/api/shipments/{shipment}/label?format=pdf&carton=2")
    assert second.status_code == 200 and second.data.startswith(b"%PDF")
    assert api.get(f"/api/shipments/{shipment}/label?carton=3").status_code == 404
    assert api.get(f"/api/shipments/{shipment}/label?format=png").status_code == 422
    assert api.get("/api/shipments/999999999/label").status_code == 404
    assert api.as_role("picker").get(f"/api/shipments/{shipment}/label").status_code == 403


@pytest.fixture
def packed_order(factory: sessionmaker[Session], config: Config, picked: dict[str, Any]) -> int:
    """The picked order packed into two cartons and labelled for a browser printer."""
    config = config.model_copy(update={"printers": {"hand": PrinterConfig(kind="browser")}})
    order = picked["order"]
    for sku, qty, weight in ((picked["heavy"], 2, 950), (picked["light"], 1, 400)):
        with writing(factory) as session:
            carton = packing.open_carton(session, order, "small", config.boxes).id
            packing.pack_item(session, carton, sku, qty)
            packing.close_carton(session, carton, weight, config.boxes, config.packing)
    with writing(factory) as session:
        jobs = labelling.finish_packing(session, order, config, "hand")
    assert [job.format for job in jobs] == ["pdf", "pdf"]
    return int(order)


def test_a_carton_reopened_after_packing_is_closed_and_labelled_anew(
    factory: sessionmaker[Session], config: Config, packed_order: int, api: ApiClient
) -> None:
    hand = config.model_copy(update={"printers": {"hand": PrinterConfig(kind="browser")}})
    with factory() as session:
        shipment = shipping.packed_shipment(session, packed_order)
        first, second = shipping.shipment_cartons(session, shipment.id)
        old = {"first": first.sscc, "second": second.sscc, "job": second.label_job_id}
    with writing(factory) as session:
        packing.reopen_carton(session, second.id)
    # Back to packing; the reopened carton's label and SSCC are void, its job not sent.
    assert api.get(f"/api/orders/{packed_order}").json["status"] == "picking"
    body = api.get(f"/api/shipments/{shipment.id}").json
    assert body["shipment_status"] == "packing"
    assert [c["sscc"] for c in body["cartons"]] == [old["first"], None]
    with factory() as session:
        replaced = session.get(PrintJob, old["job"])
        assert replaced is not None and replaced.status == "replaced"
    # Closed again, it is labelled again: a new SSCC and a new job; the other carton keeps its.
    with writing(factory) as session:
        carton = stations.close_and_label(session, second.id, 400, hand, None)
        assert carton.status == "closed"
    body = api.get(f"/api/shipments/{shipment.id}").json
    new_first, new_second = (c["sscc"] for c in body["cartons"])
    assert new_first == old["first"] and new_second not in (None, old["second"])
    assert body["status"] == "packed" and body["shipment_status"] == "packed"
    assert body["cartons"][1]["label_job"]["id"] != old["job"]
    # The dock wants the new label: the old one is refused.
    assert (
        refused(factory, lambda s: shipping.load_carton(s, None, packed_order, old["second"]))
        == "label_mismatch"
    )
    for label in (new_first, new_second):
        with writing(factory) as session:
            shipping.load_carton(session, None, packed_order, label)
    assert api.get(f"/api/orders/{packed_order}").json["status"] == "shipped"
    with factory() as session:
        assert check_invariants(session) == []
