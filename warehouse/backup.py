"""Backing up and restoring a SQLite database while the service runs (PostgreSQL has
pg_dump and pg_restore; see the README).

A backup is SQLite's online backup of the whole database in one step: it reads one
consistent snapshot, and in WAL mode the service goes on writing meanwhile. It is written
beside the target under another name, checked, then renamed, so a file of the target's
name is always a whole backup.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from warehouse.errors import InvalidInput


def sqlite_file(url: str) -> Path:
    """The database file of a SQLite URL; anything else is refused."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise InvalidInput(
            "Backup and restore here are for a SQLite database; back up PostgreSQL with "
            "pg_dump and restore it with pg_restore (see the README).",
            field="database.url",
        )
    if not parsed.database or parsed.database == ":memory:":
        raise InvalidInput("The database is not a file.", field="database.url")
    return Path(parsed.database)


def _check(connection: sqlite3.Connection, what: str) -> None:
    """Refuse a file that is not a whole database of this service."""
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError:
        raise InvalidInput(f"{what} is not a SQLite database.", field="file") from None
    if verdict != "ok":
        raise InvalidInput(f"{what} is damaged: {verdict}", field="file")
    if "alembic_version" not in tables:
        raise InvalidInput(f"{what} is not a warehouse database.", field="file")


def back_up(url: str, target: Path) -> None:
    """Copy the SQLite database at `url` to `target`, online, as one consistent snapshot."""
    source_path = sqlite_file(url)
    if not source_path.is_file():
        raise InvalidInput(f"There is no database at {source_path}.", field="database.url")
    target = target.resolve()
    if target == source_path.resolve():
        raise InvalidInput("A backup cannot overwrite the database itself.", field="file")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with (
            closing(sqlite3.connect(source_path)) as source,
            closing(sqlite3.connect(partial)) as copy,
        ):
            # pages=-1: the whole database in one step, from one read snapshot.
            source.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")
            _check(copy, "The backup")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def restore(url: str, backup: Path) -> None:
    """Replace the SQLite database at `url` with the backup's content."""
    target = sqlite_file(url)
    if not backup.is_file():
        raise InvalidInput(f"There is no backup at {backup}.", field="file")
    if target.exists() and backup.resolve() == target.resolve():
        raise InvalidInput("The backup is the database itself.", field="file")
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as source:
        _check(source, str(backup))
        with closing(sqlite3.connect(target)) as database:
            # Copied page by page under the database's own locks, WAL included, so no
            # reader ever sees half of it.
            source.backup(database, pages=-1)
            database.execute("PRAGMA journal_mode=WAL")
