"""The supervisor's printing page: every print job's state (queued, sending, sent, or that may
have printed and waits for a person's word, with the printer's last error), reprints, and
sheets of bin, product and badge barcodes to print."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from werkzeug.wrappers import Response as BaseResponse

from warehouse import printing, sheets
from warehouse.errors import WarehouseError
from warehouse.pages.shared import page, whole_number
from warehouse.web import config, db, requires, transaction, writes_late

bp = Blueprint("printing", __name__)


def _jobs_page(status: int = 200, **values: Any) -> tuple[str, int]:
    return page(
        "print_jobs.html", status, jobs=printing.recent_jobs(db()), printers=config().printers,
        sheets=sheets.SHEETS, paper=config().labels.slip_paper, **values,
    )  # fmt: skip


@bp.route("/printing", methods=["GET", "POST"])
@requires("printing.supervise")
@writes_late
def jobs() -> tuple[str, int]:
    """Print jobs, waiting ones first: one printed again, marked printed, called off, or sent
    elsewhere."""
    if request.method == "GET":
        return _jobs_page()
    action = request.form.get("action", "reprint")
    try:
        job_id = whole_number(request.form.get("job"), "job", 1)
        with transaction() as session:
            if action == "cancel":
                printing.cancel(session, job_id)
                done = f"Job {job_id} called off."
            elif action == "printed":
                printing.mark_printed(session, job_id)
                done = f"Job {job_id} marked printed: it is not sent again."
            elif action == "route":
                printer = request.form.get("printer", "")
                printing.reroute(session, job_id, printer, config().printers)
                done = f"Job {job_id} goes to {printer} now."
            else:
                again = printing.reprint(session, job_id)
                done = (
                    f"Job {job_id} is tried again now."
                    if again.id == job_id
                    else f"Job {job_id} sent again (job {again.id})."
                )
    except WarehouseError as refused:
        return _jobs_page(refused.status, error=refused.message)
    return _jobs_page(outcome="good", notice=done)


@bp.route("/printing/sheets/<kind>.pdf")
@requires("printing.supervise")
def sheet(kind: str) -> BaseResponse:
    """A sheet of barcodes (locations, products or badges) whose codes start with `prefix`."""
    paper = request.args.get("paper") or config().labels.slip_paper
    document = sheets.sheet(
        db(), kind, request.args.get("prefix", ""), "A4" if paper == "A4" else "Letter"
    )
    return Response(document, mimetype="application/pdf")
