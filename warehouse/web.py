"""What every request shares: its database session and the one place views' transactions
begin and end, who is asking, the role check, CSRF and Idempotency-Key. Refusals are
warehouse.refusals', the checks of the input and the headers warehouse.guards'."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from warehouse import accounts, guards, idempotency, refusals
from warehouse.channels import ServiceAddress
from warehouse.config import Config
from warehouse.db import begin_write
from warehouse.errors import Forbidden, WarehouseError
from warehouse.models import (
    CartonStatus,
    OrderStatus,
    PickListStatus,
    ShipmentStatus,
    User,
    utcnow,
)
from warehouse.refusals import database_refusal, error_response, refusal, undo, wants_json
from warehouse.roles import PERMISSIONS, allowed

F = TypeVar("F", bound=Callable[..., Any])
csrf = CSRFProtect()

# Endpoints anyone may call: static files and the OpenAPI document; /metrics checks its
# own reader (a scraper's token of config.toml, not a user's).
PUBLIC_ENDPOINTS = frozenset({"static", "api-docs.openapi_json", "monitoring.metrics"})

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


def _view_of(endpoint: str | None) -> Callable[..., Any] | None:
    return current_app.view_functions.get(endpoint) if endpoint else None


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


def service_address() -> ServiceAddress:
    """Where this request reached the service, and the port the service serves on: what a
    channel's events URL may not point at."""
    host: str | None = None
    port: int | None = None
    try:
        asked = urlsplit(f"//{request.host}")
        host, port = asked.hostname, asked.port
    except ValueError:
        pass  # a Host header that names no host:port leaves the server's own port
    if host is not None and port is None:
        port = 443 if request.scheme == "https" else 80
    return ServiceAddress(host, port, config().server.port)


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
    undo()
    replayed = Response(answer.body, status=answer.status, content_type=answer.content_type)
    replayed.headers["Idempotent-Replayed"] = "true"
    return replayed


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
            return database_refusal(error)
    return response


def _close(_exc: BaseException | None) -> None:
    db_session = g.pop("db", None)
    if db_session is not None:
        db_session.close()


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
    """Hook sessions, identification, CSRF, the input guards and the refusals into the app."""
    csrf.init_app(app)
    app.context_processor(_template_globals)
    app.before_request(_authorize)
    # Before any route is added: the converters its rules are built with.
    guards.install(app)
    app.after_request(_finish)
    app.teardown_request(_close)
    refusals.install(app)
