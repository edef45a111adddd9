"""GET /healthz: the service and its database answer."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import text

from warehouse.web import db, public

blp = Blueprint("health", __name__, description="Health")


class Health(ma.Schema):
    status = ma.fields.String(required=True)


@blp.route("/healthz", methods=["GET"])
@blp.response(200, Health)
@public
def healthz() -> dict[str, str]:
    """200 when the database answers (no auth)."""
    db().execute(text("SELECT 1"))
    return {"status": "ok"}
