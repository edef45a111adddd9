"""The floor flows as JSON: what the handheld pages send, and what a native handheld app or a
pack automation may send too. Each flow answers a scan or a button with the outcome, the
sentence for the worker, the person's state in the flow, and the flow's screen as HTML for
the web client. Every event carries a client id and is applied once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from scanners.read import MAX_LENGTH as MAX_SCAN_LENGTH
from warehouse.flows import FLOWS
from warehouse.flows.core import OUTCOMES, Flow, FlowEvent, handle, state_of
from warehouse.models import User
from warehouse.pages.panels import render_panel
from warehouse.scanning import ENTRIES, SCAN_ID
from warehouse.web import (
    config,
    current_user,
    db,
    requires,
    takes_raw_scans,
    transaction,
    writes_late,
)

blp = Blueprint("floor", __name__, url_prefix="/api/floor", description="Floor flows")


class ScanIn(ma.Schema):
    # The length is documented, not checked here: the scan parser refuses and logs it.
    code = ma.fields.String(
        required=True,
        metadata={
            "description": "the raw scan: AIM identifier, GS included",
            "maxLength": MAX_SCAN_LENGTH,
        },
    )
    entry = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(ENTRIES),
        metadata={"description": "how it came in: a scanner's burst, typed, or the camera"},
    )


class ActionIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 32))
    values = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(1, 32)),
        values=ma.fields.Raw(allow_none=True),
        load_default=dict,
        validate=ma.validate.Length(max=20),
        metadata={"description": "what was typed with the button (a quantity, a weight)"},
    )


class EventIn(ma.Schema):
    scan_id = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(SCAN_ID.pattern),
        metadata={"description": "made by the client per event: a repeat is answered once"},
    )
    scan = ma.fields.Nested(ScanIn)
    action = ma.fields.Nested(ActionIn)

    @ma.validates_schema
    def _one_event(self, data: dict[str, Any], **_: Any) -> None:
        if ("scan" in data) == ("action" in data):
            raise ma.ValidationError("send a scan or an action, one of them", "scan")


class ViewOut(ma.Schema):
    flow = ma.fields.String()
    state = ma.fields.Dict(metadata={"description": "where the person is in the flow"})
    panel = ma.fields.String(metadata={"description": "the flow's screen, as HTML"})


class AnswerOut(ViewOut):
    outcome = ma.fields.String(
        metadata={"enum": list(OUTCOMES), "description": "warn: done, but look (never green)"}
    )
    message = ma.fields.String(metadata={"description": "what happened and what to do next"})


def _me() -> User:
    user = current_user()
    assert user is not None
    return user


def _view(flow: Flow) -> dict[str, Any]:
    user = _me()
    state = state_of(db(), user, flow.name)
    return {"flow": flow.name, "state": state, "panel": render_panel(flow.name, state, user)}


def _route(flow: Flow) -> None:
    """The two endpoints of one flow, under the flow's own permission."""

    def show() -> dict[str, Any]:
        return _view(flow)

    def post(body: dict[str, Any]) -> dict[str, Any]:
        scan, action = body.get("scan"), body.get("action")
        event = FlowEvent(
            scan_id=body["scan_id"],
            code=scan["code"] if scan else None,
            entry=scan["entry"] if scan else None,
            action=action["name"] if action else None,
            values=action["values"] if action else {},
        )
        # The event is logged, refused or not, before its refusal is answered.
        with transaction() as session:
            outcome = handle(session, _me(), flow, event, config(), source=flow.name)
        answer = outcome.answer_or_raise()
        return {**_view(flow), "outcome": answer["outcome"], "message": answer["message"]}

    show.__doc__ = f"The person's state in the {flow.name} flow, and its screen."
    post.__doc__ = (
        f"A scan or a button in the {flow.name} flow, applied once per scan_id; a refused one "
        "is a 409 or 422 that names why, and changes nothing but the scan log."
    )
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] = requires(flow.permission)
    blp.route(f"/{flow.name}", methods=["GET"], endpoint=f"{flow.name}_show")(
        blp.response(200, ViewOut)(wrap(show))
    )
    blp.route(f"/{flow.name}", methods=["POST"], endpoint=f"{flow.name}_event")(
        blp.arguments(EventIn)(
            blp.response(200, AnswerOut)(wrap(writes_late(takes_raw_scans("scan.code")(post))))
        )
    )


for _flow in FLOWS.values():
    _route(_flow)
