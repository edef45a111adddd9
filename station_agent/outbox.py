"""The agent's outbox: scans read but not yet answered by the service, in a SQLite file.

A scan is written (and fsynced) here before any send is tried, and deleted only after the
service answered it. A crash between the answer and the delete sends the scan again with the
same scan_id, which the service takes as the same scan, so nothing is lost or doubled.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class QueuedScan:
    seq: int
    scan_id: str
    code: str


class Outbox:
    """Scans waiting to be sent, oldest first. Safe to share between the reader and sender threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Autocommit: each statement is its own transaction, so `add` is durable when it returns.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._added = threading.Event()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, not only at checkpoints.
            self._db.execute("PRAGMA synchronous=FULL")
            # AUTOINCREMENT: a seq is never reused after deletes, so order holds across restarts.
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS outbox ("
                " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " scan_id TEXT NOT NULL UNIQUE,"
                " code TEXT NOT NULL)"
            )

    def add(self, code: str) -> QueuedScan:
        """Queue a scan under a new scan_id; returns once it is on disk."""
        scan_id = uuid.uuid4().hex
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO outbox (scan_id, code) VALUES (?, ?)", (scan_id, code)
            )
        self._added.set()
        assert cursor.lastrowid is not None
        return QueuedScan(cursor.lastrowid, scan_id, code)

    def pending(self, limit: int = 1000) -> list[QueuedScan]:
        """The oldest scans not yet answered, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, scan_id, code FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [QueuedScan(*row) for row in rows]

    def first(self) -> QueuedScan | None:
        """The oldest scan not yet answered, if any."""
        found = self.pending(limit=1)
        return found[0] if found else None

    def mark_sent(self, scan_id: str) -> None:
        """Forget a scan the service has answered."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE scan_id = ?", (scan_id,))

    def count(self) -> int:
        """How many scans wait."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def wait(self, timeout: float) -> None:
        """Sleep until a scan is added or the timeout passes."""
        self._added.wait(timeout)
        self._added.clear()

    def close(self) -> None:
        """Close the file; the scans in it stay for the next start."""
        with self._lock:
            self._db.close()
