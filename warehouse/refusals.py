"""Refused requests: API.md's error envelope to the API, the error page to people, and the
handlers that turn every refusal (the domain's, a schema's, CSRF, the database's) into one of
them. A refused request changes nothing."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from warehouse.errors import WarehouseError


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    """API.md's error envelope."""
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    return response


def refusal(status: int, code: str, message: str, field: str | None = None) -> Response:
    """A refused request: API.md's error envelope to the API, the error page to a person."""
    # A page's own script that posts JSON reads its refusals as JSON too.
    if wants_json() or request.is_json:
        return error_response(status, code, message, field)
    title = {403: "Not allowed", 404: "Not found"}.get(status, "Not done")
    return Response(render_template("error.html", title=title, message=message), status=status)


def undo() -> None:
    """A refused request changes nothing."""
    if "db" in g:
        g.db.rollback()


def _handle_warehouse_error(error: WarehouseError) -> Response:
    undo()
    response = refusal(error.status, error.code, error.message, error.field)
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _validation_message(messages: Any, path: str = "") -> tuple[str, str]:
    """The first (field, message) of a webargs/marshmallow error tree."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "form", "files", "path", "view_args"):
                return _validation_message(value, path)
            name = (
                f"{path}[{key}]"
                if isinstance(key, int)
                else (f"{path}.{key}" if path else str(key))
            )
            if key == "_schema":
                name = path
            return _validation_message(value, name)
    if isinstance(messages, list) and messages:
        return _validation_message(messages[0], path)
    return path, str(messages)


def handle_http_exception(error: HTTPException) -> Response | HTTPException:
    """API errors as JSON envelopes; pages keep Flask's own error pages."""
    if not wants_json():
        return error
    status = error.code or 500
    data = getattr(error, "data", None)
    if status == 422 and data and "messages" in data:
        field, message = _validation_message(data["messages"])
        text = f"{field}: {message}" if field else message
        return error_response(422, "invalid_input", text, field or None)
    if status == 400 and request.mimetype == "application/json":
        return error_response(400, "invalid_json", "The request body is not valid JSON.")
    code = (error.name or "error").lower().replace(" ", "_")
    return error_response(status, code, error.description or error.name)


def _handle_validation(error: ValidationError) -> Response:
    """A body checked by a schema inside a view (a signed webhook) rather than by webargs."""
    undo()
    field, message = _validation_message(error.messages)
    return refusal(422, "invalid_input", f"{field}: {message}" if field else message, field or None)


def _handle_csrf(error: CSRFError) -> Response:
    if wants_json():
        return error_response(
            400, "csrf_failed", f"{error.description} Send the X-CSRFToken header."
        )
    return refusal(400, "csrf_failed", "The page was out of date. Go back and try again.")


# SQLite's SQLITE_FULL and PostgreSQL's disk_full (SQLSTATE 53100).
_DISK_FULL = 13


def _disk_full(error: OperationalError) -> bool:
    cause = error.orig
    return (
        getattr(cause, "sqlite_errorcode", None) == _DISK_FULL
        or getattr(cause, "sqlstate", None) == "53100"
    )


def database_refusal(error: Exception) -> Response:
    """Whatever the database (or its driver) refused that the domain's own checks let
    through: a 4xx that says what happened, or a 503 while the database is down or busy;
    never a 500 page. The request changes nothing."""
    current_app.logger.error("database error: %s", error)
    try:
        undo()
    except Exception:  # a connection that is gone cannot roll back; it is closed after
        current_app.logger.exception("rollback failed")
    if isinstance(error, IntegrityError):
        # Constraints back up the domain's own checks; a concurrent request can still
        # trip them.
        return refusal(409, "conflict", "A concurrent change got there first; try again.")
    if isinstance(error, DataError | OverflowError | UnicodeError):
        return refusal(
            422, "invalid_input", "A value in the request is beyond what the warehouse stores."
        )
    if isinstance(error, RecursionError):
        return refusal(422, "too_deep", "The request is nested too deeply to read.")
    if isinstance(error, OperationalError) and _disk_full(error):
        return refusal(
            507,
            "disk_full",
            "The database's disk is full: nothing was stored. Free space on it, then try again.",
        )
    if isinstance(error, OperationalError):
        return refusal(503, "database_unavailable", "The database does not answer.")
    return refusal(503, "database_error", "The database could not do this just now; try again.")


def install(app: Flask) -> None:
    """Register the handlers of every kind of refusal."""
    app.register_error_handler(WarehouseError, _handle_warehouse_error)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(ValidationError, _handle_validation)
    app.register_error_handler(HTTPException, handle_http_exception)
    # What the database or its driver refused that escaped the domain's own checks.
    for escaped in (SQLAlchemyError, OverflowError, UnicodeError, RecursionError):
        app.register_error_handler(escaped, database_refusal)
