"""The JSON API: flask-smorest blueprints whose schemas validate input and make the OpenAPI document."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask
from flask_smorest import Api


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "snake_case error code"})
    message = ma.fields.String(required=True, metadata={"description": "for a person"})
    field = ma.fields.String(metadata={"description": "the input to blame, where one is"})


class ErrorEnvelope(ma.Schema):
    error = ma.fields.Nested(ErrorBody, required=True)


class WarehouseApi(Api):
    """flask-smorest's Api, documenting and using API.md's error envelope."""

    ERROR_SCHEMA = ErrorEnvelope

    def _register_error_handlers(self) -> None:
        # warehouse.web registers the handlers, so pages and the API share one place.
        pass


def make_api(app: Flask) -> WarehouseApi:
    """Attach the API blueprints and the OpenAPI document at /api/openapi.json."""
    from warehouse.api import (
        barcodes,
        catalog,
        deliveries,
        events,
        figures,
        floor,
        health,
        orders,
        packing,
        picking,
        printing,
        returns,
        session,
        shipments,
        stations,
        stock,
    )

    app.config.update(
        API_TITLE="Warehouse floor service",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
    )
    spec_options: dict[str, Any] = {
        "security": [{"bearerAuth": []}, {"cookieSession": []}],
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieSession": {"type": "apiKey", "in": "cookie", "name": "session"},
            }
        },
    }
    api = WarehouseApi(app, spec_kwargs=spec_options)
    for module in (
        health, session, catalog, stock, orders, barcodes, picking, packing, shipments, stations,
        returns, printing, floor, events, deliveries, figures,
    ):  # fmt: skip
        api.register_blueprint(module.blp)
    return api
