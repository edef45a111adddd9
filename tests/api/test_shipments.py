"""Shipments over the API: an integration attaches a carrier's own label (PDF or ZPL) to a
carton and that label is what prints, its tracking number is what the dock scan matches, and
a label that is not one is refused with nothing changed."""

from __future__ import annotations

import io
import random
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from reportlab.graphics.barcode.code128 import Code128
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from tests.api.test_packing import packed_order, picked, refused  # noqa: F401
from tests.conftest import ApiClient, free_port, shipment_of
from tests.printer import FakePrinter
from warehouse import carriers, labelling, packing, printing, shipping
from warehouse.app import create_app
from warehouse.config import Config, PrinterConfig
from warehouse.db import writing
from warehouse.models import Carton, ChannelEvent, PrintJob, utcnow


@pytest.fixture(scope="module")
def carrier_config(config: Config) -> Config:
    """A raw TCP label printer (ZPL), a handheld's browser (PDF) and a CUPS queue (either);
    "hand" is the printer test_packing's packed_order labels on."""
    return config.model_copy(
        update={
            "printers": {
                "dock": PrinterConfig(kind="tcp", host="127.0.0.1", port=free_port()),
                "hand": PrinterConfig(kind="browser"),
                "office": PrinterConfig(kind="cups", queue="office"),
            }
        }
    )


@pytest.fixture(scope="module")
def carrier_app(carrier_config: Config, engine: Engine) -> Iterator[Flask]:
    """The service with those printers, on the migrated test database."""
    app = create_app(carrier_config)
    app.config["TESTING"] = True
    yield app
    app.extensions["warehouse.engine"].dispose()


@pytest.fixture
def carrier_api(
    carrier_app: Flask,
    tokens: dict[str, str],
    carrier_config: Config,
    factory: sessionmaker[Session],
) -> Iterator[ApiClient]:
    """The service with printers, as the integration."""
    yield ApiClient(carrier_app.test_client(), tokens, "integration")
    # The labels left queued here are settled: a dispatch pass takes the oldest due jobs
    # first, and another test's pass must meet its own.
    with writing(factory) as session:
        session.execute(
            update(PrintJob)
            .where(PrintJob.printer.in_(carrier_config.printers), PrintJob.status != "sent")
            .values(status="sent", sent_at=utcnow(), lease_until=None)
        )


# The carrier the labels of these tests come from.
CARRIER = "Example Parcels"


def ups_number() -> str:
    """A tracking number shaped like UPS's: 1Z and 16 letters and digits."""
    return "1Z" + secrets.token_hex(8).upper()


def fedex_number() -> str:
    """A tracking number of 12 digits, like FedEx's."""
    return "7" + "".join(random.choices("0123456789", k=11))


def carrier_zpl(tracking: str) -> bytes:
    """A carrier's ZPL label: one format with its name and the tracking barcode."""
    return (
        "^XA\n^CI28\n^FO40,40^A0N,48,48^FDEXAMPLE PARCELS^FS\n"
        f"^FO40,140^BY3^BCN,200,Y,N,N^FD{tracking}^FS\n^XZ\n"
    ).encode()


def carrier_pdf(tracking: str) -> bytes:
    """A real 4x6 in PDF label, as a carrier's API sends one."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(4 * 72, 6 * 72))
    canvas.setFont("Helvetica-Bold", 20)
    canvas.drawString(18, 390, "EXAMPLE PARCELS")
    Code128(tracking, barWidth=1.1, barHeight=80).drawOn(canvas, 18, 220)
    canvas.setFont("Helvetica", 12)
    canvas.drawString(18, 200, tracking)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def attach_label(
    api: ApiClient,
    order: int,
    number: int,
    document: bytes,
    tracking: str | None,
    content_type: str = "application/zpl",
    carrier: str | None = CARRIER,
    service: str | None = None,
) -> TestResponse:
    """PUT a carrier's label (the raw body) on carton `number` of a shipment."""
    query = {} if tracking is None else {"tracking": tracking}
    query |= {} if carrier is None else {"carrier": carrier}
    query |= {} if service is None else {"service": service}
    # An order that does not exist stands for a shipment that does not either.
    known = api.as_role("admin").get(f"/api/orders/{order}").status_code == 200
    return api.request(
        "PUT",
        f"/api/shipments/{shipment_of(api, order) if known else order}/cartons/{number}/label",
        query_string=query,
        data=document,
        content_type=content_type,
    )


def closed_cartons(sessions: sessionmaker[Session], config: Config, order: dict[str, Any]) -> None:
    """The picked order in two closed cartons, not labelled yet: 2 heavy, then 1 light."""
    for sku, qty, weight in ((order["heavy"], 2, 950), (order["light"], 1, 400)):
        with writing(sessions) as session:
            carton = packing.open_carton(session, order["order"], "small", config.boxes).id
            packing.pack_item(session, carton, sku, qty)
            packing.close_carton(session, carton, weight, config.boxes, config.packing)


def finish_packing_on(
    sessions: sessionmaker[Session], config: Config, order: int, printer: str
) -> None:
    """Finish packing the order, its labels going to `printer`."""
    with writing(sessions) as session:
        labelling.finish_packing(session, order, config, printer)


def carton_ids(sessions: sessionmaker[Session], order: int) -> list[int]:
    """The ids of the order's cartons, by number."""
    with sessions() as session:
        return list(
            session.scalars(
                select(Carton.id).where(Carton.order_id == order).order_by(Carton.number)
            )
        )


def print_jobs(sessions: sessionmaker[Session]) -> int:
    """How many print jobs are stored."""
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(PrintJob)) or 0)


def job_document(sessions: sessionmaker[Session], job_id: int) -> bytes:
    """The document a print job stored for its printer."""
    with sessions() as session:
        job = session.get(PrintJob, job_id)
        assert job is not None
        return job.document


def print_on_dock(sessions: sessionmaker[Session], config: Config, order: int) -> list[bytes]:
    """Send due jobs to the dock's FakePrinter until the order's labels are sent: jobs other
    tests left queued come first (oldest first), fail for want of their printer, and wait out
    their backoff."""
    printer = FakePrinter(config.printers["dock"].port)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            printing.dispatch(sessions, {"dock": config.printers["dock"]})
            with sessions() as session:
                waiting = session.scalar(
                    select(func.count())
                    .select_from(PrintJob)
                    .join(Carton, Carton.label_job_id == PrintJob.id)
                    .where(Carton.order_id == order, PrintJob.status.in_(("queued", "sending")))
                )
            if not waiting:
                break
        return list(printer.jobs)
    finally:
        printer.close()


def test_a_shipment_prints_the_carrier_zpl_label_attached_before_packing(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    carrier_config: Config,
    picked: dict[str, Any],  # noqa: F811
) -> None:
    order = picked["order"]
    closed_cartons(factory, carrier_config, picked)
    tracking = ups_number()
    zpl = carrier_zpl(tracking)
    jobs = print_jobs(factory)
    answer = attach_label(carrier_api, order, 1, zpl, tracking)
    assert answer.status_code == 200, answer.json
    assert answer.json["carrier_label"] == "zpl" and answer.json["tracking"] == tracking
    # Not packed yet: nothing is queued, nor said to print.
    assert answer.json["label_job"] is None and answer.json["printed_label"] is None
    assert print_jobs(factory) == jobs

    finish_packing_on(factory, carrier_config, order, "dock")
    received = print_on_dock(factory, carrier_config, order)

    shipment = carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, order)}")
    assert shipment.status_code == 200
    body = shipment.json
    assert body["order_id"] == order and body["status"] == "packed" and body["number"] == 1
    assert body["id"] == shipment_of(carrier_api, order) and body["shipment_status"] == "packed"
    assert body["external_id"] and body["channel"]
    first, second = body["cartons"]
    # The carrier's number is kept at packing; the other carton gets ours.
    assert first["tracking"] == tracking
    assert second["tracking"] == carriers.tracking_number(int(second["sscc"][8:17]))
    assert (first["carrier_label"], second["carrier_label"]) == ("zpl", None)
    assert (first["printed_label"], second["printed_label"]) == ("carrier", "ours")
    assert sorted(item["qty"] for item in first["items"] + second["items"]) == [1, 2]
    assert first["items"] == [{"sku": picked["heavy"], "qty": 2}]
    assert first["weight_g"] == 950 and first["expected_g"] == 950 and first["box"] == "small"
    for carton in (first, second):
        job = carton["label_job"]
        assert job["printer"] == "dock" and job["format"] == "zpl"
        assert job["status"] == "sent" and job["attempts"] == 1 and job["last_error"] == ""
    # The printer got the carrier's label byte for byte, and ours for the second carton.
    assert zpl in received
    ours = [label for label in received if f">;>800{second['sscc']}".encode() in label]
    assert len(ours) == 1 and second["tracking"].encode() in ours[0]

    label = carrier_api.get(
        f"/api/shipments/{shipment_of(carrier_api, order)}/label?format=zpl&carton=1"
    )
    assert label.status_code == 200 and label.data == zpl
    # In the other format the label is ours, bearing the carrier's tracking number.
    pdf = carrier_api.get(
        f"/api/shipments/{shipment_of(carrier_api, order)}/label?format=pdf&carton=1"
    )
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")

    # At the dock: the carrier's barcode scans as its tracking number, ours as our SSCC.
    ids = carton_ids(factory, order)
    assert (
        refused(factory, lambda s: shipping.confirm_label(s, None, ids[1], tracking))
        == "label_mismatch"
    )
    with writing(factory) as session:
        shipping.confirm_label(session, None, ids[0], tracking)
    with writing(factory) as session:
        shipping.confirm_label(session, None, ids[1], second["sscc"])
    assert carrier_api.get(f"/api/orders/{order}").json["status"] == "shipped"

    # Once shipped, a label is refused and nothing changes.
    jobs = print_jobs(factory)
    late = attach_label(carrier_api, order, 1, carrier_zpl("1ZLATE0000000001"), "1ZLATE0000000001")
    assert late.status_code == 409 and late.json["error"]["code"] == "already_shipped"
    after = carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, order)}").json
    assert after["cartons"][0]["tracking"] == tracking
    assert (
        carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, order)}/label?carton=1").data
        == zpl
    )
    assert print_jobs(factory) == jobs


def test_a_shipment_carrier_pdf_label_attached_after_packing_replaces_the_label_job(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    packed_order: int,  # noqa: F811
) -> None:
    before = carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, packed_order)}").json
    old_job, old_tracking = before["cartons"][0]["label_job"], before["cartons"][0]["tracking"]
    assert before["cartons"][0]["printed_label"] == "ours" and old_job["printer"] == "hand"
    tracking = fedex_number()
    pdf = carrier_pdf(tracking)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")

    answer = attach_label(carrier_api, packed_order, 1, pdf, tracking, "application/pdf")
    assert answer.status_code == 200, answer.json
    job = answer.json["label_job"]
    # A new job on the printer of the old one, printing the carrier's PDF.
    assert job["id"] != old_job["id"] and job["printer"] == "hand" and job["format"] == "pdf"
    assert job["status"] == "queued" and answer.json["printed_label"] == "carrier"
    assert job_document(factory, job["id"]) == pdf
    assert job_document(factory, old_job["id"]) != pdf
    # Our label had not been sent (the handheld never opened it): it never will be.
    with factory() as session:
        replaced = session.get(PrintJob, old_job["id"])
        assert replaced is not None and replaced.status == "replaced"
    assert answer.json["tracking"] == tracking and answer.json["carrier_label"] == "pdf"

    # The same label again (a retried request) prints nothing more.
    jobs = print_jobs(factory)
    again = attach_label(carrier_api, packed_order, 1, pdf, tracking, "application/pdf")
    assert again.status_code == 200 and again.json["label_job"]["id"] == job["id"]
    assert print_jobs(factory) == jobs

    assert (
        carrier_api.get(
            f"/api/shipments/{shipment_of(carrier_api, packed_order)}/label?format=pdf"
        ).data
        == pdf
    )
    zpl = carrier_api.get(
        f"/api/shipments/{shipment_of(carrier_api, packed_order)}/label?format=zpl"
    ).data
    assert f">;{tracking}".encode() in zpl and old_tracking.encode() not in zpl

    # At the dock the carrier's number matches and our old one does not any more.
    first, _ = carton_ids(factory, packed_order)
    assert (
        refused(factory, lambda s: shipping.confirm_label(s, None, first, old_tracking))
        == "label_mismatch"
    )
    with writing(factory) as session:
        shipping.confirm_label(session, None, first, tracking)

    # The second carton is handed over on a supervisor's word; a packer may not.
    url = f"/api/shipments/{shipment_of(carrier_api, packed_order)}/ship"
    assert carrier_api.as_role("packer").post(url).status_code == 403
    assert carrier_api.post(url).status_code == 403
    shipped = carrier_api.as_role("supervisor").post(url)
    assert shipped.status_code == 200, shipped.json
    assert shipped.json["status"] == "shipped"
    assert [c["status"] for c in shipped.json["cartons"]] == ["shipped", "shipped"]
    assert carrier_api.get(f"/api/orders/{packed_order}").json["status"] == "shipped"
    assert carrier_api.as_role("admin").post(url).json["status"] == "shipped"


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize(
    ("printer", "format_", "printed"),
    [
        ("dock", "zpl", "carrier"),
        ("dock", "pdf", "ours"),
        ("hand", "pdf", "carrier"),
        ("hand", "zpl", "ours"),
        ("office", "pdf", "carrier"),
        ("office", "zpl", "carrier"),
    ],
)
def test_a_shipment_prints_the_carrier_label_where_the_printer_prints_its_format(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    carrier_config: Config,
    picked: dict[str, Any],  # noqa: F811
    printer: str,
    format_: str,
    printed: str,
    when: str,
) -> None:
    """Elsewhere our own label prints, bearing the carrier's tracking number."""
    order = picked["order"]
    closed_cartons(factory, carrier_config, picked)
    if when == "after":
        finish_packing_on(factory, carrier_config, order, printer)
    tracking = fedex_number()
    document = carrier_pdf(tracking) if format_ == "pdf" else carrier_zpl(tracking)
    answer = attach_label(carrier_api, order, 1, document, tracking, f"application/{format_}")
    assert answer.status_code == 200, answer.json
    if when == "before":
        finish_packing_on(factory, carrier_config, order, printer)
    carton = carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, order)}").json["cartons"][0]
    assert carton["printed_label"] == printed and carton["tracking"] == tracking
    job = carton["label_job"]
    stored = job_document(factory, job["id"])
    kind = carrier_config.printers[printer].kind
    if printed == "carrier":
        assert job["format"] == format_ and stored == document
    else:
        assert job["format"] == ("pdf" if kind == "browser" else "zpl") and stored != document
        assert "cannot print the carrier's" in job["title"]
        if job["format"] == "zpl":
            assert f">;{tracking}".encode() in stored
        else:
            assert stored.startswith(b"%PDF-")
    # The carrier's label is there to fetch for a printer that can print it.
    fetched = carrier_api.get(
        f"/api/shipments/{shipment_of(carrier_api, order)}/label?format={format_}"
    )
    assert fetched.status_code == 200 and fetched.data == document


def test_a_shipment_label_attached_while_the_order_is_packed_is_the_one_printed(
    factory: sessionmaker[Session],
    carrier_api: ApiClient,
    carrier_config: Config,
    picked: dict[str, Any],  # noqa: F811
) -> None:
    """The station has read the cartons when the label comes in: whichever transaction
    commits first, the carrier's label and number end up on the carton's label job."""
    order = picked["order"]
    closed_cartons(factory, carrier_config, picked)
    tracking = ups_number()
    zpl = carrier_zpl(tracking)
    read, attached = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    shipment = shipment_of(carrier_api, order)

    def finish() -> None:
        with writing(factory) as session:
            # As the station holds the carton it has just closed.
            held = shipping.get_shipment(session, shipment).cartons
            assert packing.order_is_packed(session, order) and len(held) == 2
            read.set()
            # On PostgreSQL the label commits meanwhile; SQLite's one writer makes it wait.
            attached.wait(timeout=2)
            labelling.finish_packing(session, order, carrier_config, "dock")

    def attach() -> None:
        read.wait(timeout=10)
        with writing(factory) as session:
            labelling.attach_carrier_label(
                session, shipment, 1, zpl, "zpl", tracking, carrier_config, CARRIER
            )
        attached.set()

    def run(act: Any) -> None:
        try:
            act()
        except BaseException as failed:  # asserted below, where pytest sees it
            failures.append(failed)

    threads = [threading.Thread(target=run, args=(act,)) for act in (finish, attach)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    carton = carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, order)}").json["cartons"][0]
    assert carton["tracking"] == tracking and carton["printed_label"] == "carrier"
    assert job_document(factory, carton["label_job"]["id"]) == zpl


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
GOOD_ZPL = carrier_zpl("1Z999AA10123456784")
GOOD_PDF = carrier_pdf("781234567890")


def refusal(content_type: str, document: bytes, tracking: str | None, name: str) -> Any:
    """A refused label (tracking None: a good one is sent) or tracking number (a good label)."""
    field = "label" if tracking is None else "tracking"
    return pytest.param(content_type, document, tracking, field, id=name)


@pytest.mark.parametrize(
    ("content_type", "document", "tracking", "field"),
    [
        refusal("image/png", PNG, None, "png-typed"),
        refusal("application/zpl", PNG, None, "png-as-zpl"),
        refusal("application/octet-stream", PNG, None, "png-untyped"),
        refusal("application/pdf", b"", None, "empty"),
        refusal("application/zpl", b"  \n", None, "blank"),
        refusal("text/html", HTML, None, "html-typed"),
        refusal("application/zpl", HTML, None, "html-as-zpl"),
        refusal("application/pdf", GOOD_PDF[: len(GOOD_PDF) * 2 // 3], None, "pdf-cut-short"),
        refusal("application/zpl", b"^XA^FO50,50^A0N,40,40^FDno end^FS\n", None, "zpl-no-xz"),
        refusal("application/zpl", GOOD_ZPL + GOOD_ZPL[:-4], None, "zpl-second-cut-short"),
        refusal("application/zpl", GOOD_ZPL + b"trailing words", None, "zpl-trailing-text"),
        refusal("application/zpl", b"~JR\n" + GOOD_ZPL, None, "zpl-command-outside"),
        refusal("application/zpl", GOOD_ZPL.replace(b"EXAMPLE", b"EX\x1bAMPLE"), None, "zpl-esc"),
        refusal(
            "application/zpl", GOOD_ZPL.replace(b"EXAMPLE", b"EX\xffAMPLE"), None, "zpl-not-utf8"
        ),
        refusal("application/zpl", b"^XA^XZ", None, "zpl-prints-nothing"),
        refusal("application/pdf", GOOD_ZPL, None, "zpl-as-pdf"),
        refusal("application/zpl", GOOD_PDF, None, "pdf-as-zpl"),
        refusal(
            "application/pdf",
            GOOD_PDF[:-6] + b"%" + b"0" * 2**21 + b"\n%%EOF\n",
            None,
            "pdf-over-2mb",
        ),
        refusal("application/x-www-form-urlencoded", GOOD_ZPL, None, "form-typed"),
        refusal("application/zpl", GOOD_ZPL, "", "tracking-empty"),
        refusal("application/zpl", GOOD_ZPL, "1Z999\x07AA1", "tracking-bell"),
        refusal("application/zpl", GOOD_ZPL, "1Z999\nAA1", "tracking-newline"),
        refusal("application/zpl", GOOD_ZPL, "1Z 999 AA1", "tracking-spaces"),
        refusal("application/zpl", GOOD_ZPL, "1Z999ÄA1", "tracking-not-ascii"),
        refusal("application/zpl", GOOD_ZPL, "9" * 65, "tracking-65"),
        refusal("application/zpl", GOOD_ZPL, "9" * 49, "tracking-49"),
        refusal("application/zpl", GOOD_ZPL, "A" * 40, "tracking-wider-than-a-label"),
        refusal("application/zpl", GOOD_ZPL, "WH0999999999", "tracking-of-ours"),
        refusal("application/zpl", GOOD_ZPL, "missing", "tracking-missing"),
    ],
)
def test_a_shipment_refuses_what_is_not_a_carrier_label_and_nothing_changes(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    packed_order: int,  # noqa: F811
    content_type: str,
    document: bytes,
    tracking: str | None,
    field: str,
) -> None:
    if tracking is None:
        tracking = ups_number()
    before = carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, packed_order)}").json
    jobs = print_jobs(factory)
    answer = attach_label(
        carrier_api,
        packed_order,
        1,
        document,
        None if tracking == "missing" else tracking,
        content_type,
    )
    assert answer.status_code == 422, answer.json
    error = answer.json["error"]
    assert error["field"] == field and error["message"]
    assert error["code"] == ("not_a_label" if field == "label" else "invalid_input")
    assert (
        carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, packed_order)}").json == before
    )
    assert print_jobs(factory) == jobs


def slipped_in(command: str, where: str = "inside") -> Any:
    """A carrier label with a printer command slipped into it: inside its format (after the
    ^CI28), in a field's data, or alone in a format of its own before the label."""
    label = GOOD_ZPL.decode()
    if where == "inside":
        document = label.replace("^CI28\n", f"^CI28\n{command}\n")
    elif where == "field":
        document = label.replace("^FDEXAMPLE PARCELS", f"^FDEXAMPLE {command} PARCELS")
    else:
        document = f"^XA{command}^XZ\n{label}"
    return pytest.param(document.encode(), command.split(",")[0][:3], id=f"{command}-{where}")


@pytest.mark.parametrize(
    ("document", "named"),
    [
        # Reset the printer; save or load its settings; what it does after an error.
        slipped_in("~JR"),
        slipped_in("~JR", "field"),
        slipped_in("^JUF"),
        slipped_in("^JUS", "alone"),
        slipped_in("^JZY"),
        slipped_in("~JD"),
        slipped_in("~JE"),
        slipped_in("^jus"),
        # Its network: address, wireless, reset of the network card.
        slipped_in("^NSS,10.0.0.66,255.255.255.0,10.0.0.1"),
        slipped_in("^ND2,P,S,10.0.0.66"),
        slipped_in("~WR"),
        slipped_in("^NN,printer,contact"),
        # Its name and password.
        slipped_in("^KNpwned,desc"),
        slipped_in("^KP0000"),
        # Downloads into its memory, and deletions from it.
        slipped_in("~DGR:LOGO.GRF,4,1,FFFFFFFF", "alone"),
        slipped_in("~DYR:FONT,A,T,4,,AAAA", "alone"),
        slipped_in("~DBR:FONT.FNT,N,1,1,1,1,1,1,1"),
        slipped_in("^DFR:FORM.ZPL^FS"),
        slipped_in("^IDR:*.*"),
        slipped_in("~EG"),
        slipped_in("^ISR:LABEL.GRF"),
        # Its ZPL mode, its clock, its sleep.
        slipped_in("^SZ1"),
        slipped_in("^ST01,01,2030,00,00,00,M"),
        slipped_in("^ZZ1,N"),
        # The command character changed, so what follows would read as plain text here.
        slipped_in("^CC+^XA+JUS^XZ"),
        slipped_in("~CC+"),
        slipped_in("^CT+"),
        slipped_in("~CT+"),
        slipped_in("^CD;"),
    ],
)
def test_a_carrier_label_that_reaches_into_the_printer_is_refused(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    packed_order: int,  # noqa: F811
    document: bytes,
    named: str,
) -> None:
    shipment = shipment_of(carrier_api, packed_order)
    before = carrier_api.get(f"/api/shipments/{shipment}").json
    jobs = print_jobs(factory)
    answer = attach_label(carrier_api, packed_order, 1, document, ups_number())
    assert answer.status_code == 422, answer.json
    error = answer.json["error"]
    assert (error["code"], error["field"]) == ("not_a_label", "label")
    assert f"printer command {named}" in error["message"], error["message"]
    assert "only draw a label" in error["message"]
    assert carrier_api.get(f"/api/shipments/{shipment}").json == before
    assert print_jobs(factory) == jobs


def test_a_carrier_label_of_every_kind_of_drawing_command_is_taken(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    packed_order: int,  # noqa: F811
) -> None:
    tracking = ups_number()
    # The commands a carrier's 4x6 in label is drawn with: size and home, fonts, boxes and
    # lines, an inline graphic, hex field data, MaxiCode, Code 128, a PDF417, one copy.
    document = (
        "^XA^MMT^PW812^LL1218^LS0^LH0,0^PON^PR4^MD5^CI28^CF0,30^FWN\n"
        "^FO20,20^GB772,2,2^FS^FO20,40^A0N,40,40^FDEXAMPLE PARCELS^FS\n"
        "^FO20,90^A@N,30,30,E:ARI000.FNT^FH^FDGr_C3_BC_C3_9Fe^FS\n"
        "^FO20,140^GFA,8,8,1,FFFFFFFFFFFFFFFF^FS^FO600,20^XGR:LOGO.GRF,1,1^FS\n"
        "^FO40,200^BD2^FH^FD001840152382802[)>_1E01_1D961Z00004951^FS\n"
        f"^FO40,500^BY3^BCN,200,Y,N,N^FD{tracking}^FS\n"
        "^FO40,800^B7N,8,5,,,N^FDpdf417^FS^FT40,1100^TBN,400,80^FDnote^FS^FXcomment^FS\n"
        "^PQ1,0,1,Y^XZ\n"
    ).encode()
    answer = attach_label(carrier_api, packed_order, 1, document, tracking)
    assert answer.status_code == 200, answer.json
    shipment = shipment_of(carrier_api, packed_order)
    stored = carrier_api.get(f"/api/shipments/{shipment}/label?format=zpl&carton=1")
    assert stored.data == document


def test_shipment_refusals_change_nothing(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    packed_order: int,  # noqa: F811
) -> None:
    tracking = ups_number()
    assert (
        attach_label(carrier_api, packed_order, 1, carrier_zpl(tracking), tracking).status_code
        == 200
    )
    before = carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, packed_order)}").json
    jobs = print_jobs(factory)

    # A tracking number on another carton already.
    taken = attach_label(carrier_api, packed_order, 2, carrier_zpl(tracking), tracking)
    assert taken.status_code == 409
    assert taken.json["error"]["code"] == "tracking_taken"
    assert taken.json["error"]["field"] == "tracking"

    # Roles: a picker sees no shipment; only integrations and leads attach labels.
    zpl = carrier_zpl(ups_number())
    picker, packer = carrier_api.as_role("picker"), carrier_api.as_role("packer")
    assert picker.get(f"/api/shipments/{shipment_of(carrier_api, packed_order)}").status_code == 403
    assert attach_label(picker, packed_order, 1, zpl, ups_number()).status_code == 403
    assert attach_label(packer, packed_order, 1, zpl, ups_number()).status_code == 403
    assert (
        picker.post(f"/api/shipments/{shipment_of(carrier_api, packed_order)}/ship").status_code
        == 403
    )
    assert packer.get(f"/api/shipments/{shipment_of(carrier_api, packed_order)}").status_code == 200

    # Unknown shipments and cartons.
    for response in (
        carrier_api.get("/api/shipments/999999999"),
        attach_label(carrier_api, 999999999, 1, zpl, ups_number()),
        carrier_api.as_role("supervisor").post("/api/shipments/999999999/ship"),
    ):
        assert response.status_code == 404 and response.json["error"]["code"] == "unknown_shipment"
    unknown = attach_label(carrier_api, packed_order, 3, zpl, ups_number())
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "unknown_carton"

    assert (
        carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, packed_order)}").json == before
    )
    assert print_jobs(factory) == jobs


def test_a_shipment_not_packed_is_not_shipped_by_hand(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    carrier_config: Config,
    picked: dict[str, Any],  # noqa: F811
) -> None:
    order = picked["order"]
    # Every carton closed, but the order not finished: no SSCC, no label yet.
    closed_cartons(factory, carrier_config, picked)
    before = carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, order)}").json
    assert [c["sscc"] for c in before["cartons"]] == [None, None]
    answer = carrier_api.as_role("supervisor").post(
        f"/api/shipments/{shipment_of(carrier_api, order)}/ship"
    )
    assert answer.status_code == 409 and answer.json["error"]["code"] == "not_packed"
    assert carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, order)}").json == before
    assert before["status"] == "picking"
    with factory() as session:
        shipped = (
            select(func.count())
            .select_from(Carton)
            .where(Carton.order_id == order, Carton.status == "shipped")
        )
        assert session.scalar(shipped) == 0


def test_a_packer_sends_a_label_to_another_printer_and_one_label_prints(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    packed_order: int,  # noqa: F811
) -> None:
    shipment = shipment_of(carrier_api, packed_order)
    before = carrier_api.get(f"/api/shipments/{shipment}").json["cartons"][0]
    assert before["label_job"]["printer"] == "hand" and before["label_job"]["format"] == "pdf"
    packer = carrier_api.as_role("packer")
    moved = packer.post(f"/api/shipments/{shipment}/cartons/1/print", {"printer": "dock"})
    assert moved.status_code == 200, moved.json
    assert moved.json["printer"] == "dock" and moved.json["format"] == "zpl"
    after = carrier_api.get(f"/api/shipments/{shipment}").json["cartons"][0]
    assert after["label_job"]["id"] == moved.json["id"] and after["sscc"] == before["sscc"]
    with factory() as session:
        old = session.get(PrintJob, before["label_job"]["id"])
        assert old is not None and old.status == "replaced"
    document = job_document(factory, moved.json["id"])
    assert f">;>800{before['sscc']}".encode() in document
    for refused_body, status in (({"printer": "nowhere"}, 422), ({}, 422)):
        answer = packer.post(f"/api/shipments/{shipment}/cartons/1/print", refused_body)
        assert answer.status_code == status
    assert (
        packer.post(f"/api/shipments/{shipment}/cartons/9/print", {"printer": "dock"}).status_code
        == 404
    )
    assert (
        carrier_api.as_role("picker")
        .post(f"/api/shipments/{shipment}/cartons/1/print", {"printer": "dock"})
        .status_code
        == 403
    )


def cartons_told(api: ApiClient, order: int) -> list[tuple[str | None, str | None, str | None]]:
    """(carrier, service, tracking) of each carton of the order, as the order shows them to
    its channel."""
    shown = api.as_role("admin").get(f"/api/orders/{order}").json
    return [
        (carton["carrier"], carton["service"], carton["tracking"])
        for shipment in shown["shipments"]
        for carton in shipment["cartons"]
    ]


def shipped_event(factory: sessionmaker[Session], order: int) -> dict[str, Any]:
    """The order.shipped event written for the order: what its channel is told."""
    with factory() as session:
        events = session.scalars(
            select(ChannelEvent).where(
                ChannelEvent.order_id == order, ChannelEvent.type == "order.shipped"
            )
        ).all()
        assert len(events) == 1
        return events[0].data


def test_our_label_gives_each_carton_our_carrier_service_and_tracking(
    carrier_api: ApiClient,
    config: Config,
    packed_order: int,  # noqa: F811
) -> None:
    shipment = carrier_api.get(f"/api/shipments/{shipment_of(carrier_api, packed_order)}").json
    ours = [(c["carrier"], c["service"], c["tracking"]) for c in shipment["cartons"]]
    assert ours == [
        ("Demo Parcel", "Ground", carriers.tracking_number(int(c["sscc"][8:17])))
        for c in shipment["cartons"]
    ]
    assert (config.shipping.carrier, config.shipping.service) == ("Demo Parcel", "Ground")
    assert cartons_told(carrier_api, packed_order) == ours


def test_an_attached_carrier_label_is_the_carrier_and_tracking_the_order_tells(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    packed_order: int,  # noqa: F811
) -> None:
    tracking = ups_number()
    pdf = carrier_pdf(tracking)
    attached = attach_label(
        carrier_api, packed_order, 1, pdf, tracking, "application/pdf",
        carrier="UPS", service="Next Day Air",
    )  # fmt: skip
    assert attached.status_code == 200, attached.json
    assert (attached.json["carrier"], attached.json["service"]) == ("UPS", "Next Day Air")
    (first, second) = cartons_told(carrier_api, packed_order)
    assert first == ("UPS", "Next Day Air", tracking)
    assert second[:2] == ("Demo Parcel", "Ground") and second[2].startswith("WH")
    # The carrier's name put right, the same label again: told, nothing printed anew.
    jobs = print_jobs(factory)
    again = attach_label(
        carrier_api, packed_order, 1, pdf, tracking, "application/pdf", carrier="UPS"
    )
    assert (
        again.status_code == 200
        and again.json["label_job"]["id"] == attached.json["label_job"]["id"]
    )
    assert print_jobs(factory) == jobs
    assert cartons_told(carrier_api, packed_order)[0] == ("UPS", None, tracking)

    # Both labels scanned at the dock: the order ships, and its channel is told each
    # carton's carrier and tracking number.
    ids = carton_ids(factory, packed_order)
    with writing(factory) as session:
        shipping.confirm_label(session, None, ids[0], tracking)
    with writing(factory) as session:
        shipping.confirm_label(session, None, ids[1], second[2])
    assert carrier_api.get(f"/api/orders/{packed_order}").json["status"] == "shipped"
    told = shipped_event(factory, packed_order)["shipments"][0]["cartons"]
    assert [(c["carrier"], c["service"], c["tracking"]) for c in told] == [
        ("UPS", None, tracking),
        second,
    ]


def test_a_hand_over_by_hand_records_the_carriers_tracking_numbers(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    packed_order: int,  # noqa: F811
) -> None:
    url = f"/api/shipments/{shipment_of(carrier_api, packed_order)}/ship"
    numbers = [fedex_number(), fedex_number()]
    body = {
        "carrier": "FedEx",
        "service": "Ground Economy",
        "cartons": [{"number": n, "tracking": t} for n, t in zip((1, 2), numbers, strict=True)],
    }
    shipped = carrier_api.as_role("supervisor").post(url, body)
    assert shipped.status_code == 200, shipped.json
    assert shipped.json["status"] == "shipped"
    expected = [("FedEx", "Ground Economy", number) for number in numbers]
    assert [
        (c["carrier"], c["service"], c["tracking"]) for c in shipped.json["cartons"]
    ] == expected
    assert cartons_told(carrier_api, packed_order) == expected
    told = shipped_event(factory, packed_order)["shipments"][0]["cartons"]
    assert [(c["carrier"], c["service"], c["tracking"]) for c in told] == expected
    # The dock knows the cartons by the carrier's numbers from now on.
    with factory() as session:
        found = shipping.labelled(session, numbers[1])
        assert found is not None and (found.order_id, found.number) == (packed_order, 2)

    # The same hand-over again is answered as it stands; another one is refused.
    again = carrier_api.as_role("supervisor").post(url, body)
    assert again.status_code == 200 and again.json == shipped.json
    assert carrier_api.as_role("supervisor").post(url).status_code == 200
    other = carrier_api.as_role("supervisor").post(url, {**body, "carrier": "DHL"})
    assert other.status_code == 409 and other.json["error"]["code"] == "already_shipped"
    assert cartons_told(carrier_api, packed_order) == expected


def test_a_hand_over_naming_only_the_carrier_keeps_our_tracking_numbers(
    carrier_api: ApiClient,
    packed_order: int,  # noqa: F811
) -> None:
    ours = [tracking for _, _, tracking in cartons_told(carrier_api, packed_order)]
    url = f"/api/shipments/{shipment_of(carrier_api, packed_order)}/ship"
    shipped = carrier_api.as_role("supervisor").post(url, {"carrier": "Local Courier"})
    assert shipped.status_code == 200, shipped.json
    assert cartons_told(carrier_api, packed_order) == [
        ("Local Courier", None, tracking) for tracking in ours
    ]


def test_a_hand_over_with_bad_input_is_refused_and_nothing_changes(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    packed_order: int,  # noqa: F811
) -> None:
    # Another order's carton, whose label may not be given to this one.
    with factory() as session:
        other_sscc = session.scalar(
            select(Carton.sscc).where(Carton.order_id != packed_order, Carton.sscc.is_not(None))
        )
        other_carton = session.scalar(
            select(Carton).where(
                Carton.order_id != packed_order,
                Carton.status != "shipped",
                Carton.sscc.is_not(None),
            )
        )
    assert other_sscc is not None
    shipment = shipment_of(carrier_api, packed_order)
    before = carrier_api.get(f"/api/shipments/{shipment}").json
    mine = before["cartons"][1]
    taken = ups_number()
    assert attach_label(carrier_api, packed_order, 2, carrier_zpl(taken), taken).status_code == 200
    before = carrier_api.get(f"/api/shipments/{shipment}").json
    good = fedex_number()

    def one(number: int = 1, tracking: str = good, **more: Any) -> dict[str, Any]:
        return {"carrier": "FedEx", "cartons": [{"number": number, "tracking": tracking}], **more}

    cases: list[tuple[Any, int, str, str]] = [
        # A carrier's number on another carton of this shipment, or of another order.
        (one(tracking=taken), 409, "tracking_taken", "cartons[0].tracking"),
        (one(tracking=other_sscc), 409, "tracking_taken", "cartons[0].tracking"),
        (one(tracking=mine["sscc"]), 409, "tracking_taken", "cartons[0].tracking"),
        # One number for two cartons; one carton twice.
        (
            {
                "carrier": "FedEx",
                "cartons": [{"number": 1, "tracking": good}, {"number": 2, "tracking": good}],
            },
            409,
            "tracking_taken",
            "cartons[1].tracking",
        ),
        (
            {
                "carrier": "FedEx",
                "cartons": [
                    {"number": 1, "tracking": good},
                    {"number": 1, "tracking": fedex_number()},
                ],
            },
            422,
            "invalid_input",
            "cartons[1].number",
        ),
        # Names too long, or with control characters; numbers no carrier barcode carries.
        (one(carrier="C" * 200), 422, "invalid_input", "carrier"),
        (one(carrier="FedEx\x07"), 422, "invalid_input", "carrier"),
        (one(carrier="Fed\nEx"), 422, "invalid_input", "carrier"),
        (one(service="Ground\x1b[2J"), 422, "invalid_input", "service"),
        (one(service="S" * 65), 422, "invalid_input", "service"),
        (one(carrier=""), 422, "invalid_input", "carrier"),
        (one(tracking="7946\x0012"), 422, "not_text", "cartons[0].tracking"),
        (one(tracking="7946\t12"), 422, "invalid_input", "cartons[0].tracking"),
        (one(tracking="7946 12"), 422, "invalid_input", "cartons[0].tracking"),
        (one(tracking=""), 422, "invalid_input", "cartons[0].tracking"),
        (one(tracking="9" * 49), 422, "invalid_input", "cartons[0].tracking"),
        (one(tracking="WH0999999999"), 422, "invalid_input", "cartons[0].tracking"),
        # A carton the shipment does not have; numbers without the carrier they are of.
        (one(number=9), 422, "unknown_carton", "cartons[0].number"),
        (one(number=0), 422, "invalid_input", "cartons[0].number"),
        (one(number="1"), 422, "invalid_input", "cartons[0].number"),
        ({"cartons": [{"number": 1, "tracking": good}]}, 422, "invalid_input", "carrier"),
        ({"service": "Ground"}, 422, "invalid_input", "carrier"),
        ({"carrier": "FedEx", "cartons": {"number": 1}}, 422, "invalid_input", "cartons"),
        ({"carrier": "FedEx", "tracking": good}, 422, "invalid_input", "tracking"),
    ]
    lead = carrier_api.as_role("supervisor")
    for body, status, code, field in cases:
        answer = lead.post(f"/api/shipments/{shipment}/ship", body)
        assert (answer.status_code, answer.json["error"]["code"], answer.json["error"].get("field")) == (
            status, code, field,
        ), body  # fmt: skip
        assert carrier_api.get(f"/api/shipments/{shipment}").json == before, body
    assert carrier_api.get(f"/api/orders/{packed_order}").json["status"] == "packed"
    if other_carton is not None:
        with factory() as session:
            still = session.get(Carton, other_carton.id)
            assert still is not None and still.tracking == other_carton.tracking
    # Put right, the hand-over goes through.
    assert lead.post(f"/api/shipments/{shipment}/ship", one()).status_code == 200


def test_a_carrier_label_without_a_carrier_or_with_a_bad_one_is_refused(
    carrier_api: ApiClient,
    factory: sessionmaker[Session],
    packed_order: int,  # noqa: F811
) -> None:
    shipment = shipment_of(carrier_api, packed_order)
    before = carrier_api.get(f"/api/shipments/{shipment}").json
    jobs = print_jobs(factory)
    tracking = ups_number()
    for carrier, service, field in (
        (None, None, "carrier"),
        ("", None, "carrier"),
        ("C" * 200, None, "carrier"),
        ("UPS\x07", None, "carrier"),
        ("UPS\u202e", None, "carrier"),
        ("UPS", "Next\x1bDay", "service"),
        ("UPS", "N" * 65, "service"),
    ):
        answer = attach_label(
            carrier_api, packed_order, 1, carrier_zpl(tracking), tracking,
            carrier=carrier, service=service,
        )  # fmt: skip
        assert answer.status_code == 422 and answer.json["error"]["field"] == field, carrier
    assert carrier_api.get(f"/api/shipments/{shipment}").json == before
    assert print_jobs(factory) == jobs
