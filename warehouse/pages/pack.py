"""What the pack flow's page opens besides its panel: the packing slip, a browser printer's
label, and the state of a station's bench, which the page follows so that what the station's
own scanner does (through the station agent) shows on it. (Packing itself is the pack flow:
pages.flows and /api/floor/pack.)"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify

from labels.printers import LabelFormat
from warehouse import labelling, printing, shipping, stations
from warehouse.models import PackStation, utcnow
from warehouse.web import config, db, polled, requires, transaction, writes_late

bp = Blueprint("pack", __name__)


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
    """What the station's page follows: its bench's version, order and scale, and what its
    scanner did last (outcome and message; no outcome when the page itself moved the bench)."""
    found = db().get(PackStation, station)
    if found is None:
        return jsonify(
            {"version": 0, "order": None, "scale_g": None, "outcome": "", "message": "",
             "failing": 0}
        )  # fmt: skip
    return jsonify(
        {
            "version": found.version,
            "order": found.order_id,
            "scale_g": stations.scale_weight(found, utcnow()),
            "outcome": found.outcome,
            "message": found.message,
            # A label that did not print is shown at once, though the bench did not move.
            "failing": shipping.failing_labels(db(), found.order_id) if found.order_id else 0,
        }
    )
