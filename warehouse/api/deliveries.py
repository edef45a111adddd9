"""Events pushed to a channel's events URL, for supervisors: what waits, fails and died, and
dead events replayed."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from warehouse import event_backlog
from warehouse.models import EventStatus
from warehouse.web import db, requires

blp = Blueprint(
    "deliveries", __name__, url_prefix="/api/channels", description="Events pushed to channels"
)

MAX_REPLAY = 1000


class DeliveryOut(ma.Schema):
    id = ma.fields.String(attribute="event_id", metadata={"description": "its webhook-id"})
    type = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(EventStatus)})
    attempts = ma.fields.Integer(metadata={"description": "tries since written or replayed"})
    last_error = ma.fields.String(metadata={"description": "what the last try met with"})
    created_at = ma.fields.DateTime()
    next_try_at = ma.fields.DateTime(metadata={"description": "when it is tried again"})


class DeliveriesOut(ma.Schema):
    channel = ma.fields.String()
    events_url = ma.fields.String(allow_none=True)
    pending = ma.fields.Integer(metadata={"description": "waiting to be sent, or being sent"})
    oldest_pending_s = ma.fields.Integer(
        allow_none=True, metadata={"description": "seconds the oldest of them has waited"}
    )
    failing = ma.fields.Integer(metadata={"description": "pending ones whose last try failed"})
    dead = ma.fields.Integer(
        metadata={"description": "retried for as long as allowed; sent again only if replayed"}
    )
    delivered = ma.fields.Integer()
    events = ma.fields.List(
        ma.fields.Nested(DeliveryOut),
        metadata={"description": f"the latest {event_backlog.LATEST} failing and dead events"},
    )


class ReplayIn(ma.Schema):
    events = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, 40)),
        validate=ma.validate.Length(max=MAX_REPLAY),
        metadata={"description": "event ids to replay; without it, every dead event"},
    )


class ReplayOut(ma.Schema):
    replayed = ma.fields.Integer(metadata={"description": "dead events now pending again"})


@blp.route("/<code>/deliveries")
@requires("events.manage")
@blp.response(200, DeliveriesOut)
def deliveries(code: str) -> event_backlog.ChannelBacklog:
    """What the channel's events URL was sent: pending (and since when), failing (with the
    latest errors), dead and delivered events."""
    return event_backlog.channel_backlog(db(), code)


@blp.route("/<code>/events/replay", methods=["POST"])
@requires("events.manage")
@blp.arguments(ReplayIn)
@blp.response(200, ReplayOut)
def replay(body: dict[str, Any], code: str) -> dict[str, int]:
    """Send dead events again, each with its own id (all the channel's dead events, or those
    named); an event named that is not dead is left as it is. 404 unknown_event for an id
    that is not the channel's, 409 no_events_url for a channel whose events are pulled."""
    return {"replayed": event_backlog.replay(db(), code, body.get("events"))}
