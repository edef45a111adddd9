"""Figures for supervisors and admins: which channels pay."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint

from warehouse import channel_figures
from warehouse.api.queries import Query
from warehouse.limits import Day
from warehouse.models import utcnow
from warehouse.web import db, requires

blp = Blueprint("figures", __name__, url_prefix="/api/figures", description="Figures")

# What starts a formula in a spreadsheet.
FORMULA = ("=", "+", "-", "@", "\t", "\r")
# The longest period asked at once: a few years of history side by side.
MAX_DAYS = 3 * 366


class PeriodQuery(Query):
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))
    first = Day(data_key="from", metadata={"description": "first day (UTC), default today"})
    last = Day(data_key="to", metadata={"description": "last day (UTC), default today"})

    @ma.post_load
    def _period(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        today = utcnow().date()
        last = data.get("last", today)
        first = data.get("first", min(last, today))
        if first > last:
            raise ma.ValidationError("must be on or before `to`", field_name="from")
        if last - first > timedelta(days=MAX_DAYS):
            raise ma.ValidationError(f"a period is {MAX_DAYS} days at most", field_name="from")
        return {**data, "first": first, "last": last}


Rate = ma.fields.Float(allow_none=True)
# Money as a decimal string, exact to the cent ("12.30").
Money = ma.fields.Decimal(
    as_string=True, places=2, metadata={"type": "string", "format": "decimal", "example": "12.30"}
)


class ChannelFiguresOut(ma.Schema):
    channel = ma.fields.String(metadata={"description": "the channel's code"})
    orders = ma.fields.Integer(metadata={"description": "orders received in the period"})
    units = ma.fields.Integer(metadata={"description": "units ordered"})
    revenue = Money
    fees = Money
    cost = Money
    margin = Money
    cancelled_orders = ma.fields.Integer()
    backordered_units = ma.fields.Integer(metadata={"description": "units still waiting"})
    returned_units = ma.fields.Integer()
    return_rate = Rate
    order_to_ship_hours_median = Rate
    order_to_ship_hours_p90 = Rate
    shipped_on_time_rate = Rate


class ChannelsFiguresOut(ma.Schema):
    first = ma.fields.Date(data_key="from")
    last = ma.fields.Date(data_key="to")
    channels = ma.fields.List(ma.fields.Nested(ChannelFiguresOut))


@blp.route("/channels")
@blp.arguments(PeriodQuery, location="query")
@blp.response(200, ChannelsFiguresOut)
@requires("figures.read")
def figures_of_channels(query: dict[str, Any]) -> Response | dict[str, Any]:
    """Each channel's orders received in the period (both days included): units, revenue,
    fees, cost, margin, cancels, backorders, returns and order-to-ship times. See
    warehouse.channel_figures for what each figure counts. ?format=csv for a spreadsheet:
    a row per channel, the same names for its columns."""
    first, last = query["first"], query["last"]
    figures = channel_figures.channel_figures(db(), first, last)
    if query["format"] == "csv":
        schema = ChannelFiguresOut()
        return _csv(
            list(schema.fields), schema.dump(figures, many=True), f"channels-{first}-{last}.csv"
        )
    return {"first": first, "last": last, "channels": figures}


def _csv(columns: list[str], rows: list[dict[str, Any]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        # Text a spreadsheet would take for a formula is kept as text.
        writer.writerow(
            {k: f"'{v}" if isinstance(v, str) and v[:1] in FORMULA else v for k, v in row.items()}
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
