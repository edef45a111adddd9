"""Pack stations: what the station agent reports from the station's scale."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from warehouse import limits, stations
from warehouse.web import config, requires, transaction

blp = Blueprint("stations", __name__, url_prefix="/api/stations", description="Pack stations")


class ScaleIn(ma.Schema):
    weight_g = limits.grams(required=True)


class ScaleOut(ma.Schema):
    station = ma.fields.String()
    weight_g = ma.fields.Integer()


@blp.route("/<station>/scale", methods=["POST"])
@requires("packing.pack")
@blp.arguments(ScaleIn)
@blp.response(200, ScaleOut)
def scale(body: dict[str, Any], station: str) -> dict[str, Any]:
    """The station scale's latest stable reading; the station's page offers it as the weight."""
    with transaction() as session:
        stations.read_scale(session, station, body["weight_g"], config())
    return {"station": station, "weight_g": body["weight_g"]}
