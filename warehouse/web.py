"""What every request shares: its database session and the one place views' transactions
begin and end, who is asking, the role check, CSRF, and errors (JSON to the API, the error
page to people)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from marshmallow import ValidationError
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, UnicodeConverter
from werkzeug.routing import ValidationError as NoMatch
from werkzeug.wrappers import Response as BaseResponse

from warehouse import accounts, idempotency, limits
from warehouse.config import Config
from warehouse.db import begin_write
from warehouse.errors import Forbidden, WarehouseError
from warehouse.models import (
    ROLES,
    CartonStatus,
    OrderStatus,
    PickListStatus,
    ShipmentStatus,
    User,
    utcnow,
)
from warehouse.roles import FINER_RULES, PERMISSIONS, allowed

F = TypeVar("F", bound=Callable[..., Any])
csrf = CSRFProtect()

# Endpoints anyone may call: static files and the OpenAPI document; /metrics checks its
# own reader (a scraper's token of config.toml, not a user's).
PUBLIC_ENDPOINTS = frozenset({"static", "api-docs.openapi_json", "monitoring.metrics"})

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
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def requires(permission: str) -> Callable[[F], F]:
    """Mark a view with the one permission of the role matrix that it needs."""
    if permission not in PERMISSIONS:
        raise KeyError(f"{permission!r} is not in the role matrix")

    def mark(view: F) -> F:
        view._permission = permission  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """Mark a view that needs no user (health, login)."""
    view._public = True  # type: ignore[attr-defined]
    return view


def polled(view: F) -> F:
    """Mark a view a page asks on its own (a station following its bench): it does not count
    as the person's activity, so a page left open still signs out when idle."""
    view._polled = True  # type: ignore[attr-defined]
    return view


IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": idempotency.HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
    "description": "A key of the client's choosing: the same key with the same request is "
    "applied once and answered as the first time (kept 24 hours); with another request: "
    "409 idempotency_key_reused.",
}


def idempotent(view: F) -> F:
    """Mark a view that books stock or changes an order: it honours an Idempotency-Key."""
    view._idempotent = True  # type: ignore[attr-defined]
    apidoc = getattr(view, "_apidoc", {})
    manual = apidoc.setdefault("manual_doc", {})
    manual.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
    view._apidoc = apidoc  # type: ignore[attr-defined]
    return view


def scraped(view: F) -> F:
    """Mark a view for a metrics scraper, not a user: it checks its reader itself."""
    view._public = True  # type: ignore[attr-defined]
    view._scraped = True  # type: ignore[attr-defined]
    return view


def signed_webhook(view: F) -> F:
    """Mark a view that needs no user because its request is signed (checked by the view)."""
    view._public = True  # type: ignore[attr-defined]
    view._signed = True  # type: ignore[attr-defined]
    return view


def config() -> Config:
    """The checked configuration of the running app."""
    config: Config = current_app.extensions["warehouse.config"]
    return config


def db() -> Session:
    """The request's session; a request that may write starts a write transaction."""
    if "db" not in g:
        g.db = current_app.extensions["warehouse.sessions"]()
        if request.method not in READ_METHODS and not g.get("write_late"):
            begin_write(g.db)
    session: Session = g.db
    return session


def takes_raw_scans(*fields: str) -> Callable[[F], F]:
    """Mark a view whose JSON `fields` hold raw scans, taken as the scanner sent them: the
    scan parser refuses (and logs) a scan that is not text, so the check before every view
    leaves those fields to it."""

    def mark(view: F) -> F:
        view._raw_scans = frozenset(fields)  # type: ignore[attr-defined]
        return view

    return mark


def writes_late(view: F) -> F:
    """Mark a view that reads first and writes last: it calls write_now() before writing, so
    that SQLite's one write lock is held for the writes only, not the whole request."""
    view._write_late = True  # type: ignore[attr-defined]
    return view


def write_now() -> Session:
    """End the request's reading and start its write transaction."""
    session = db()
    session.commit()
    begin_write(session)
    return session


@contextmanager
def transaction(
    *, write: bool = True, keep: tuple[type[WarehouseError], ...] = ()
) -> Iterator[Session]:
    """A view's work that must stand whatever the view answers (a scan's log entry, a step
    a page shows the outcome of): committed when the block ends, rolled back when it raises.
    The one place where views' transactions begin and end.

    `write` begins the write transaction at once; without it the block starts reading and
    calls write_now() itself before it writes. A refusal of a class in `keep` is committed
    before it is raised (a failed login is counted even though it is refused).
    """
    session = write_now() if write else db()
    try:
        yield session
    except keep:
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    session.commit()


def no_store(response: Response) -> Response:
    """Pages show stock and who is signed in: a shared handheld must not show them from cache."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def current_user() -> User | None:
    return g.get("user")


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


def _view_of(endpoint: str | None) -> Callable[..., Any] | None:
    return current_app.view_functions.get(endpoint) if endpoint else None


def check_every_endpoint(app: Flask) -> None:
    """Refuse to start when an endpoint is neither public nor named in the role matrix."""
    for endpoint, view in app.view_functions.items():
        if endpoint in PUBLIC_ENDPOINTS or getattr(view, "_public", False):
            continue
        if getattr(view, "_permission", None) not in PERMISSIONS:
            raise RuntimeError(f"endpoint {endpoint} names no permission of the role matrix")


def role_table(app: Flask) -> str:
    """docs/roles.md: every endpoint and page with the permission it needs and the roles
    that hold it, then the rules finer than an endpoint."""
    head = ("Method", "Path", "Permission", *ROLES)
    lines = [
        "# Who may call what",
        "",
        "Written by `warehouse roles > docs/roles.md` from `warehouse/roles.py`; the tests "
        "check that it is current and that the service answers every cell as written.",
        "",
        "✓: allowed. An empty cell: 403. With no one signed in: 401 from `/api/`, a "
        "redirect to `/login` from a page. `public`: anyone, signed in or not; `signed`: "
        "anyone whose request the channel signed; `metrics`: a request with the metrics token "
        "of config.toml (`server.metrics_token`), or from the service's own machine when "
        "none is set, whoever sends it.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    rows = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        open_ = rule.endpoint in PUBLIC_ENDPOINTS or getattr(view, "_public", False)
        permission = str(getattr(view, "_permission", ""))
        if open_:
            permission = (
                "signed"
                if getattr(view, "_signed", False)
                else "metrics"
                if getattr(view, "_scraped", False)
                else "public"
            )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            cells = ["✓" if open_ or allowed(role, permission) else "" for role in ROLES]
            rows.append((rule.rule, method, permission, cells))
    for path, method, permission, cells in sorted(rows, key=lambda row: row[:2]):
        lines.append("| " + " | ".join([method, f"`{path}`", permission, *cells]) + " |")
    lines += ["", "## Finer rules", ""]
    lines += [f"- {rule}" for rule in FINER_RULES]
    return "\n".join(lines) + "\n"


def _idle_expired() -> bool:
    seen = session.get("seen", 0)
    return time.time() - seen > config().auth.idle_minutes * 60


def client_address() -> str:
    """The address the request came from, as failed logins are counted per address."""
    return request.remote_addr or "unknown"


def sign_in(db_session: Session, user: User) -> None:
    """Start a fresh session for a person who has just logged in: a new row, and a cookie
    that carries only its random id (the one before, if any, is signed out)."""
    sign_out(db_session)
    sid = accounts.open_session(db_session, user)
    session["sid"] = sid
    session["seen"] = time.time()
    session.permanent = False


def sign_out(db_session: Session) -> None:
    """End this browser's session, so that no copy of its cookie works any more."""
    sid = session.get("sid")
    if isinstance(sid, str):
        accounts.end_session(db_session, sid)
    session.clear()


def served_channels() -> frozenset[int] | None:
    """The channels the caller may see and change: an integration token's own channels, or
    None for every channel (people, and integrations bound to none)."""
    served: frozenset[int] | None = g.get("channels")
    return served


def require(permission: str) -> None:
    """Refuse a request whose role lacks a permission that only part of a view needs."""
    user = current_user()
    if user is None or not allowed(user.role, permission):
        raise Forbidden(f"A {user.role if user else 'stranger'} may not do this.")


def _identify() -> Response | None:
    g.user = None
    g.via_token = False
    g.channels = None
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        holder = accounts.token_holder(db(), token.strip()) if scheme.lower() == "bearer" else None
        if holder is None:
            return error_response(401, "invalid_token", "The bearer token is not valid.")
        g.user, g.via_token, g.channels = holder.user, True, holder.channels
        return None
    sid = session.get("sid")
    if sid is not None:
        if _idle_expired():
            # Ended on the server too, so a copy of the cookie kept busy elsewhere dies.
            with transaction() as db_session:
                sign_out(db_session)
            g.signed_out_idle = True
            return None
        user = accounts.user_for_session(db(), sid) if isinstance(sid, str) else None
        if user is None:
            # Signed out elsewhere, deactivated, or older than a shift.
            session.clear()
            return None
        g.user = user
        if not g.get("polled"):
            session["seen"] = time.time()
    return None


def _authorize() -> BaseResponse | None:
    """Before every request: who is asking, CSRF for cookie sessions, and the role check."""
    view = _view_of(request.endpoint)
    if view is None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    g.write_late = getattr(view, "_write_late", False)
    g.polled = getattr(view, "_polled", False)
    refused = _identify()
    if refused is not None:
        return refused
    public = getattr(view, "_public", False)
    user = current_user()
    if user is None and not public:
        if wants_json():
            return error_response(401, "unauthorized", "Log in or send a bearer token.")
        idle = 1 if g.get("signed_out_idle") else None
        return redirect(url_for("pages.home.login", next=request.full_path.rstrip("?"), idle=idle))
    # Cookies ride along on cross-site requests, bearer tokens do not: only cookie
    # sessions (and the login form) need a CSRF token.
    if (
        not g.via_token
        and request.method not in READ_METHODS
        and not getattr(view, "_signed", False)
    ):
        csrf.protect()
    if public or user is None:
        return None
    if not allowed(user.role, view._permission):  # type: ignore[attr-defined]
        return refusal(403, "forbidden", f"A {user.role} may not do this.")
    key = request.headers.get(idempotency.HEADER)
    if key is not None and getattr(view, "_idempotent", False):
        return _replay(user, key)
    return None


def _replay(user: User, key: str) -> Response | None:
    """The answer first given under the request's Idempotency-Key, or None to apply it (the
    key is then claimed in the request's transaction and its answer kept by _finish)."""
    print_ = idempotency.fingerprint(request.method, request.full_path, request.get_data())
    answer = idempotency.claim(db(), user.id, key, print_, utcnow())
    if answer is None:
        g.idempotency_key = (user.id, key)
        return None
    _undo()
    replayed = Response(answer.body, status=answer.status, content_type=answer.content_type)
    replayed.headers["Idempotent-Replayed"] = "true"
    return replayed


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


def _check_input() -> None:
    """Before every view: no text in the path, query, form or JSON body that the database
    cannot store, and no JSON body too deep to read safely. One place for all."""
    view = _view_of(request.endpoint)
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


def _finish(response: Response) -> Response:
    if "db" in g and response.status_code < 400:
        claimed = g.get("idempotency_key")
        try:
            if claimed is not None:
                answer = idempotency.Answer(
                    response.status_code, response.content_type or "", response.get_data()
                )
                user_id, key = claimed
                idempotency.record(g.db, user_id, key, answer)
            g.db.commit()
        # Raised here, after the view, it would miss its handler and answer 500.
        except SQLAlchemyError as error:
            return _handle_database_error(error)
    return response


def _secure(response: Response) -> Response:
    """The security headers, on every answer: pages, JSON and static files."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if config().server.https:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def _close(_exc: BaseException | None) -> None:
    db_session = g.pop("db", None)
    if db_session is not None:
        db_session.close()


def _undo() -> None:
    """A refused request changes nothing."""
    if "db" in g:
        g.db.rollback()


def _handle_warehouse_error(error: WarehouseError) -> Response:
    _undo()
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
    _undo()
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


def _handle_database_error(error: Exception) -> Response:
    """Whatever the database (or its driver) refused that the domain's own checks let
    through: a 4xx that says what happened, or a 503 while the database is down or busy;
    never a 500 page. The request changes nothing."""
    current_app.logger.error("database error: %s", error)
    try:
        _undo()
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


def _template_globals() -> dict[str, Any]:
    return {
        "current_user": current_user(),
        "warehouse_name": config().warehouse.name,
        # The checked config.toml (Flask's own `config` is the app's settings).
        "settings": config(),
        # Pages compare statuses by these, as the code does.
        "OrderStatus": OrderStatus,
        "PickListStatus": PickListStatus,
        "CartonStatus": CartonStatus,
        "ShipmentStatus": ShipmentStatus,
    }


def install(app: Flask) -> None:
    """Hook sessions, identification, CSRF and error handlers into the app."""
    csrf.init_app(app)
    # Before any route is added: the converters its rules are built with.
    app.url_map.converters.update(int=IdConverter, default=NameConverter, string=NameConverter)
    app.context_processor(_template_globals)
    app.before_request(_authorize)
    app.before_request(_check_input)
    app.after_request(_finish)
    app.after_request(_secure)
    app.teardown_request(_close)
    app.register_error_handler(WarehouseError, _handle_warehouse_error)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(ValidationError, _handle_validation)
    app.register_error_handler(HTTPException, handle_http_exception)
    for escaped in (StatementError, OverflowError, UnicodeError, RecursionError):
        app.register_error_handler(escaped, _handle_database_error)
