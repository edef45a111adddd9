"""What only the SQLite database needs: the pragmas that let several processes share its file,
and writers that wait for its write lock in short sleeps of their own."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from warehouse.config import DatabaseConfig
from warehouse.db import WRITE, make_engine, make_sessionmaker, writing

# Not collected again by tests/pg: these are SQLite's own settings.
POSTGRESQL = False


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(engine: Engine) -> None:
    assert engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000}


def test_a_writer_waits_for_the_write_lock_and_gives_up_after_the_busy_timeout(
    engine: Engine,
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    patient = make_engine(DatabaseConfig(url=url, busy_timeout_ms=5000))
    hasty = make_engine(DatabaseConfig(url=url, busy_timeout_ms=200))
    sessions = make_sessionmaker(patient)
    holder = engine.connect().execution_options(**WRITE)
    holder.exec_driver_sql("SELECT 1")
    released: list[float] = []

    def release() -> None:
        holder.rollback()
        released.append(time.monotonic())

    threading.Timer(0.44, release).start()
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"), writing(make_sessionmaker(hasty)):
            pass
        assert 0.15 < time.monotonic() - started < 0.4
        # Taken as soon as it is free, where SQLite's own handler, by then sleeping 100 ms
        # at a time, would take it up to 100 ms later (at 0.53 s here).
        with writing(sessions) as session:
            taken = time.monotonic()
            timeout = session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert taken - released[0] < 0.03 and timeout == 5000
    finally:
        holder.close()
        patient.dispose()
        hasty.dispose()
