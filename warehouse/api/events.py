"""A channel's events pulled by cursor, for platforms that poll rather than take pushes."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from warehouse import cursors, event_feed
from warehouse.api.queries import Query
from warehouse.web import db, requires, served_channels

blp = Blueprint("events", __name__, url_prefix="/api", description="Channel events")


class EventQuery(Query):
    after = ma.fields.String(
        metadata={
            "maxLength": cursors.MAX_LENGTH,
            "description": "the next_cursor of the answer before; left out: from the first "
            "event the channel has",
        },
    )
    limit = ma.fields.Integer(
        load_default=event_feed.DEFAULT_PAGE,
        validate=ma.validate.Range(1, event_feed.MAX_PAGE),
        metadata={"description": "events at most in this answer"},
    )


class EventOut(ma.Schema):
    id = ma.fields.String(metadata={"description": "the same on every delivery and every pull"})
    type = ma.fields.String(
        metadata={
            "description": "order.accepted, order.backordered, order.filled, "
            "order.partially_shipped, order.shipped, order.cancelled, order.returned, "
            "inventory.changed"
        }
    )
    created_at = ma.fields.String(metadata={"format": "date-time"})
    channel = ma.fields.String()
    data = ma.fields.Dict(
        metadata={
            "description": "order events: the order as GET /api/orders/{id} showed it then; "
            'inventory.changed: {"sku", "available"} as the channel\'s inventory feed counts it'
        }
    )


class EventsOut(ma.Schema):
    events = ma.fields.List(ma.fields.Nested(EventOut))
    next_cursor = ma.fields.String(
        metadata={
            "description": "where the next pull starts: after the last event of this answer, "
            "or, when it has none, the cursor sent (never null, so a poller keeps it)"
        }
    )


@blp.route("/channels/<code>/events", methods=["GET"])
@blp.arguments(EventQuery, location="query")
@blp.doc(
    description=(
        "The channel's events, oldest first: every event written for it, whether or not it "
        "was also pushed to its events_url. Keep the next_cursor and send it as `after` on "
        "the next pull; each event is in exactly one answer of a chain of cursors, and events "
        "written meanwhile come after it. A burst of changes to one SKU not read yet is one "
        "inventory.changed with the latest figure. A cursor that is not one of ours: 422 "
        "bad_cursor; one of another channel: 422 cursor_of_another_channel."
    )
)
@blp.response(200, EventsOut)
@requires("channels.feed")
def get_events(query: dict[str, Any], code: str) -> event_feed.EventPage:
    """A channel's events after a cursor (an integration token: its own channels only)."""
    return event_feed.pull_events(
        db(),
        current_app.extensions["warehouse.sessions"],
        code,
        query.get("after"),
        query["limit"],
        served_channels(),
    )
