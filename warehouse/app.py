"""The application factory."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from warehouse import endpoints, monitoring, pages, web
from warehouse.api import make_api
from warehouse.config import Config, load_config
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.models import Setting

STATIC = Path(__file__).resolve().parent.parent / "static"


def secret_key(engine: Engine) -> str:
    """The session signing key kept in the database, made on first use and shared by all workers."""
    factory = make_sessionmaker(engine)
    with factory() as session:
        existing = session.scalar(select(Setting.value).where(Setting.name == "secret_key"))
    if existing:
        return existing
    with writing(factory) as session:
        _ensure_secret(session)
    with factory() as session:
        return session.scalars(select(Setting.value).where(Setting.name == "secret_key")).one()


def _ensure_secret(session: Session) -> None:
    if session.get(Setting, "secret_key") is None:
        session.add(Setting(name="secret_key", value=secrets.token_hex(32)))


def create_app(config: Config | None = None) -> Flask:
    """Build the service for a configuration (config.toml and the environment by default)."""
    config = config or load_config()
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    engine = make_engine(config.database)
    app.extensions["warehouse.config"] = config
    app.extensions["warehouse.engine"] = engine
    app.extensions["warehouse.sessions"] = make_sessionmaker(engine)
    app.config.update(
        SECRET_KEY=config.server.secret_key or secret_key(engine),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.server.https,
        # The signed cookie's own age limit, a backstop behind the idle check of warehouse.web.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # The handler in warehouse.web checks CSRF only where a cookie session is used.
        WTF_CSRF_CHECK_DEFAULT=False,
        # A handheld may sit on a form all shift; the idle timeout ends stale sessions.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    # First, so that its timing starts before and ends after everything else.
    monitoring.install(app)
    web.install(app)
    make_api(app)
    pages.register(app)
    endpoints.check_every_endpoint(app)
    return app
