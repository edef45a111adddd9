"""Engines and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL (psycopg 3),
and the SQL helpers every domain module shares."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Update, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from warehouse.config import DatabaseConfig

# A Session whose transaction will write: on SQLite it starts with BEGIN IMMEDIATE, so it
# takes the write lock up front and waits out the busy timeout instead of failing when
# it upgrades a read lock that another writer also holds.
WRITE = {"sqlite_begin": "BEGIN IMMEDIATE"}
# How often a writer waiting for SQLite's write lock looks again: at first, and at most.
LOCK_POLL_S, LOCK_POLL_MAX_S = 0.0005, 0.004


def sqlalchemy_url(url: str) -> str:
    """Pick psycopg 3 for a plain postgresql:// URL."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(config: DatabaseConfig) -> Engine:
    """An engine for the configured URL, with SQLite set up for several worker processes."""
    url = sqlalchemy_url(config.url)
    if not url.startswith("sqlite"):
        # No server-side prepared statements: their generic plans, made while a table was
        # small, go on scanning it whole once it has grown (seen with order intake, which
        # fell to half its speed over 100,000 lines).
        return create_engine(
            url,
            pool_size=config.pool_size,
            pool_pre_ping=True,
            connect_args={"prepare_threshold": None},
        )
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :].partition("?")[0]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": config.busy_timeout_ms / 1000})
    busy_timeout = config.busy_timeout_ms

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN is turned off; _on_begin emits ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        statement = connection.get_execution_options().get("sqlite_begin", "BEGIN")
        if statement == "BEGIN":
            connection.exec_driver_sql(statement)
        else:
            _take_write_lock(connection, statement, busy_timeout)

    return engine


def _take_write_lock(connection: Connection, statement: str, busy_timeout_ms: int) -> None:
    """Begin a writing transaction on SQLite, waiting for the write lock in short sleeps of
    our own rather than in SQLite's busy handler, whose sleeps grow to 100 ms: a waiter
    slept on while the lock was free, and under gevent the handler's sleep stops every
    greenlet of the worker (its channel events' sends among them) where time.sleep yields."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    pause = LOCK_POLL_S
    connection.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                connection.exec_driver_sql(statement)
                return
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(2 * pause, LOCK_POLL_MAX_S)
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the view renders them)."""
    return sessionmaker(engine, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Declare, before its first statement, that the session's transaction will write."""
    session.connection(execution_options=WRITE)


@contextmanager
def writing(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose one transaction writes; committed on success, rolled back on error."""
    with factory() as session:
        begin_write(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_or_skip(session: Session, table: Any, unique: list[str]) -> Any:
    """INSERT ... ON CONFLICT (unique) DO NOTHING for the session's database."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=unique)


def upsert(session: Session, table: Any, unique: list[str], columns: list[str]) -> Any:
    """INSERT ... ON CONFLICT (unique) DO UPDATE SET these columns to the new row's."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(
        index_elements=unique, set_={name: statement.excluded[name] for name in columns}
    )


def rows_changed(session: Session, statement: Update) -> int:
    """Run a conditional UPDATE; the row count says whether its condition held."""
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return cast(CursorResult[Any], result).rowcount
