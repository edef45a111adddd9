"""Print jobs: every job's state, a reprint, and for supervisors a job called off or sent to
another printer."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from labels.printers import LabelFormat
from warehouse import printing
from warehouse.models import PrintJob, PrintJobStatus
from warehouse.web import config, db, idempotent, requires

blp = Blueprint("printing", __name__, url_prefix="/api/print-jobs", description="Print jobs")


class PrintJobOut(ma.Schema):
    id = ma.fields.Integer()
    printer = ma.fields.String()
    format = ma.fields.String(metadata={"enum": list(LabelFormat)})
    title = ma.fields.String()
    status = ma.fields.String(
        metadata={
            "enum": list(PrintJobStatus),
            "description": "uncertain: it may have printed (the label went out but the "
            "printer did not finish cleanly, or its sender stopped): it is not sent again "
            "until a person says it printed (POST .../printed) or to print it again "
            "(POST .../reprint); replaced: another document (a carrier's label, a new label) "
            "took its place before it was sent; cancelled: a supervisor called it off",
        }
    )
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(metadata={"description": "why the last try failed, if it did"})
    reprint_of = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()
    sent_at = ma.fields.DateTime(allow_none=True)


class PrintJobsOut(ma.Schema):
    jobs = ma.fields.List(ma.fields.Nested(PrintJobOut))


class RouteIn(ma.Schema):
    printer = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))


@blp.route("")
@requires("printing.supervise")
@blp.response(200, PrintJobsOut)
def recent() -> dict[str, Any]:
    """Jobs waiting to be sent (oldest first), then the latest done with."""
    return {"jobs": printing.recent_jobs(db())}


@blp.route("/<int:job_id>/reprint", methods=["POST"])
@requires("packing.pack")
@idempotent
@blp.response(200, PrintJobOut)
def reprint(job_id: int) -> PrintJob:
    """Print the document again; a job not sent yet, or one that may have printed, is tried
    again at once, never doubled."""
    return printing.reprint(db(), job_id)


@blp.route("/<int:job_id>/printed", methods=["POST"])
@requires("packing.pack")
@blp.response(200, PrintJobOut)
def printed(job_id: int) -> PrintJob:
    """A person's word that a job which may have printed did print: it is marked sent and not
    sent again (409 print_job_not_uncertain for any other job)."""
    return printing.mark_printed(db(), job_id)


@blp.route("/<int:job_id>/cancel", methods=["POST"])
@requires("printing.supervise")
@blp.response(200, PrintJobOut)
def cancel(job_id: int) -> PrintJob:
    """Call off a job not sent yet (409 print_job_not_waiting otherwise)."""
    return printing.cancel(db(), job_id)


@blp.route("/<int:job_id>/route", methods=["POST"])
@requires("printing.supervise")
@blp.arguments(RouteIn)
@blp.response(200, PrintJobOut)
def route(body: dict[str, Any], job_id: int) -> PrintJob:
    """Send a job not sent yet to another printer that prints its format."""
    return printing.reroute(db(), job_id, body["printer"], config().printers)
