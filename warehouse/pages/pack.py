"""The pack station pages: scan the tote or the order, choose a box, scan each item into it,
weigh and close it, and open another when one box is not enough; the labels print when the
last carton closes. At a station the scans may come from its USB scanner through the
station agent: the page follows the bench and shows what they did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from flask import session as cookie
from sqlalchemy.orm import Session

from labels.printers import LabelFormat
from warehouse import labelling, packing, printing, shipping, stations
from warehouse.errors import WarehouseError
from warehouse.models import CartonStatus, PackStation, utcnow
from warehouse.orders import get_order
from warehouse.pages.handheld import act_on_scan, page, scanned, signed_in, whole_number
from warehouse.roles import allowed
from warehouse.web import config, db, polled, requires, transaction, writes_late

bp = Blueprint("pack", __name__)


def _station() -> str | None:
    """The station this browser packs at (chosen once, kept in its session)."""
    name = cookie.get("station")
    return name if name in config().stations else None


def _bench() -> PackStation | None:
    """This station's bench; made (the one write) on its first use."""
    station = _station()
    if station is None:
        return None
    found = db().get(PackStation, station, populate_existing=True)
    if found is not None:
        return found
    with transaction() as session:
        return stations.bench(session, station, config())


def _start_page(status: int = 200, **values: Any) -> tuple[str, int]:
    return page(
        "pack_start.html", status, stations=sorted(config().stations), station=_station(),
        bench=_bench(), **values,
    )  # fmt: skip


@bp.route("/pack", methods=["GET", "POST"])
@requires("packing.pack")
@writes_late
def start() -> tuple[str, int]:
    """Choose the station, then scan the tote or the order to pack."""
    if request.method == "GET":
        if "station" in request.args:
            chosen = request.args["station"]
            cookie["station"] = chosen if chosen in config().stations else None
        bench = _bench()
        said = _bench_said(bench)
        if bench is not None and bench.order_id is not None and _shown(bench):
            return _order_page(bench.order_id, **said)
        return _start_page(**said)
    raw = request.form.get("code", "")
    outcome = act_on_scan("pack", raw, lambda: packing.pack_scan(db(), None, scanned(raw)))
    if outcome.refused is not None:
        return _start_page(422, error=outcome.refused.message)
    return _order_page(int(outcome.answer_or_raise()["order"]), outcome="good")


def _bench_said(bench: PackStation | None) -> dict[str, Any]:
    """Sent here by the bench's version: what the station's scanner did, with its sound."""
    if bench is None or not bench.outcome or request.args.get("bench") != str(bench.version):
        return {}
    words = "error" if bench.outcome == "bad" else "notice"
    return {"outcome": bench.outcome, words: bench.message}


def _shown(bench: PackStation) -> bool:
    """Whether the bench's order is one still to pack (not one packed and gone)."""
    try:
        packing.ready_to_pack(db(), bench.order_id or 0)
    except WarehouseError:
        return False
    return True


def _order_page(order_id: int, status: int = 200, **values: Any) -> tuple[str, int]:
    """The order on the bench: lines, cartons, the open carton's scan field, its labels."""
    station = _station()
    bench = _bench()
    if bench is not None and bench.order_id != order_id:
        with transaction() as session:
            stations.put_on_bench(session, bench.name, order_id, signed_in())
        db().refresh(bench)
    order = get_order(db(), order_id)
    current = shipping.current_shipment(db(), order_id)
    shipment = shipping.get_shipment(db(), current.id) if current is not None else None
    cartons = [each.carton for each in shipment.cartons] if shipment is not None else []
    jobs = {c.carton.id: c.label_job for c in shipment.cartons if c.label_job} if shipment else {}
    return page(
        "pack.html",
        status,
        order=order,
        shipment=current,
        lines=packing.lines_to_pack(db(), order),
        cartons=cartons,
        open_carton=next((c for c in cartons if c.status == CartonStatus.OPEN), None),
        held=[c for c in cartons if c.status == CartonStatus.HELD],
        boxes=config().boxes,
        jobs=jobs,
        station=station,
        bench=bench,
        printer=_printer_or_none(station),
        scale_g=stations.scale_weight(bench, utcnow()),
        can_reopen=allowed(signed_in().role, "packing.supervise"),
        **values,
    )


def _printer_or_none(station: str | None) -> str | None:
    try:
        return stations.printer_for(config(), station)
    except WarehouseError:
        return None


def _act(order_id: int, act: Callable[[Session], object], done: str) -> tuple[str, int]:
    """Do a button's work; its refusal is shown and changes nothing."""
    try:
        with transaction() as session:
            act(session)
    except WarehouseError as refused:
        return _order_page(order_id, refused.status, error=refused.message)
    return _order_page(order_id, outcome="good", notice=done)


@bp.route("/pack/<int:order_id>", methods=["GET", "POST"])
@requires("packing.pack")
@writes_late
def order(order_id: int) -> tuple[str, int]:
    """The order's packing: a scan, or a button (box, close, reopen, reprint)."""
    if request.method == "GET":
        return _order_page(order_id, **_bench_said(_bench()))
    form = request.form
    action = form.get("action", "scan")
    boxes = config().boxes
    if action == "box":
        box = form.get("box", "")
        return _act(
            order_id,
            lambda s: packing.open_carton(s, order_id, box, boxes),
            f"{boxes[box].name if box in boxes else box} opened: scan the items.",
        )
    if action == "close":
        return _close(order_id)
    if action == "reopen":
        if not allowed(signed_in().role, "packing.supervise"):
            return _order_page(order_id, 403, error="Only a supervisor may reopen a carton.")
        carton_id = whole_number(form.get("carton"), "carton", 1)
        return _act(order_id, lambda s: packing.reopen_carton(s, carton_id), "Carton reopened.")
    if action == "reprint":
        job_id = whole_number(form.get("job"), "job", 1)
        return _act(order_id, lambda s: printing.reprint(s, job_id), "Sent again.")
    raw = form.get("code", "")
    outcome = act_on_scan("pack", raw, lambda: packing.pack_scan(db(), order_id, scanned(raw)))
    if outcome.refused is not None:
        return _order_page(order_id, 422, error=outcome.refused.message)
    done = outcome.answer_or_raise()
    if done["step"] == "order":
        return _order_page(int(done["order"]), outcome="good")
    return _order_page(order_id, outcome="good", notice=stations.said(done, None)[1])


def _close(order_id: int) -> tuple[str, int]:
    """Weigh and close the open or held carton; held when the weight is off."""
    form = request.form
    carton_id = whole_number(form.get("carton"), "carton", 1)
    try:
        weight_g = round(float(form.get("weight_kg") or "") * 1000)
    except (ValueError, OverflowError):
        return _order_page(order_id, 422, error="Type the weight in kg, for example 1.25.")
    try:
        with transaction() as session:
            printer = stations.printer_for(config(), _station())
            carton = stations.close_and_label(session, carton_id, weight_g, config(), printer)
    except WarehouseError as refused:
        return _order_page(order_id, refused.status, error=refused.message)
    if carton.status == CartonStatus.HELD:
        return _order_page(
            order_id, 422, error=f"Carton {carton.number} weighs {carton.weight_g} g but should "
            f"weigh about {carton.expected_g} g: check what is in it, then weigh it again.",
        )  # fmt: skip
    return _order_page(order_id, outcome="good", notice=f"Carton {carton.number} closed.")


@bp.route("/pack/<int:order_id>/slip.pdf")
@requires("packing.pack")
def slip(order_id: int) -> Response:
    """The order's packing slip, to print on the station's office printer."""
    document = labelling.packing_slip(db(), order_id, config())
    return Response(document, mimetype="application/pdf")


@bp.route("/pack/jobs/<int:job_id>.pdf")
@requires("packing.pack")
@writes_late
def job_document(job_id: int) -> Response:
    """A browser printer's label, opened on the handheld (which counts as sent)."""
    with transaction() as session:
        job = printing.fetched_by_browser(session, job_id)
        if job.format != LabelFormat.PDF:
            abort(404)  # and the job stays unsent
    return Response(job.document, mimetype="application/pdf")


@bp.route("/pack/bench/<station>.json")
@requires("packing.pack")
@polled
def bench_state(station: str) -> Response:
    """What the station's page follows: its bench's version, order and scale."""
    found = db().get(PackStation, station)
    if found is None:
        return jsonify({"version": 0, "order": None, "scale_g": None})
    return jsonify(
        {
            "version": found.version,
            "order": found.order_id,
            "scale_g": stations.scale_weight(found, utcnow()),
        }
    )
