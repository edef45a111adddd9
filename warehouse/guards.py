"""What every request is checked against before its view, and what every answer carries:
ids and names in routes within their ranges, no text the database cannot store, no JSON
nested too deep; the security headers."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.routing import IntegerConverter, UnicodeConverter
from werkzeug.routing import ValidationError as NoMatch

from warehouse import limits

# Scripts only from our own files (no inline script, no handler attributes, no eval), and
# no page of ours inside another site's frame.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


# Under HTTPS: browsers keep to HTTPS for this host for a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


class IdConverter(IntegerConverter):
    """`<int:...>` in a route: an id from 1 to limits.MAX_ID. Any other number names
    nothing that can exist, so the route does not match: 404."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int = 1, max: int = limits.MAX_ID):
        super().__init__(map, fixed_digits, min, max)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(limits.MAX_ID)):
            raise NoMatch()
        return int(super().to_python(value))


class NameConverter(UnicodeConverter):
    """A name in a route (a SKU, a code, a station): no name is longer than 64 characters."""

    def __init__(
        self, map: Any, minlength: int = 1, maxlength: int = 64, length: int | None = None
    ):
        super().__init__(map, minlength, maxlength, length)


def check_input() -> None:
    """Before every view: no text in the path, query, form or JSON body that the database
    cannot store, and no JSON body too deep to read safely. One place for all."""
    view = current_app.view_functions.get(request.endpoint or "")
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            limits.check_text(value, name)
    for name, value in request.args.items(multi=True):
        limits.check_text(name, name)
        limits.check_text(value, name)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            limits.check_text(name, name)
            limits.check_text(value, name)
    # A signed webhook reads its body as JSON whatever its content type.
    if request.is_json or getattr(view, "_signed", False):
        limits.check_json(request.get_data(cache=True), getattr(view, "_raw_scans", frozenset()))


def secure(response: Response) -> Response:
    """The security headers, on every answer: pages, JSON and static files."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.extensions["warehouse.config"].server.https:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def install(app: Flask) -> None:
    """The route converters (before any route is added), the input check and the headers."""
    app.url_map.converters.update(int=IdConverter, default=NameConverter, string=NameConverter)
    app.before_request(check_input)
    app.after_request(secure)
