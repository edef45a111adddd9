"""What only the SQLite database needs: the pragmas that let several processes share its file."""

from __future__ import annotations

from sqlalchemy import Engine

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
