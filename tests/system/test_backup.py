"""Backing up a SQLite database while the service books stock, and restoring it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPO, WAREHOUSE, ref, running_service, warehouse_command

# Not collected again by tests/pg: SQLite's own backup is under test (PostgreSQL: pg_dump).
POSTGRESQL = False


def booked(url: str) -> tuple[int, int]:
    """(movements, units on hand) in a SQLite database."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as database:
        movements = database.execute("SELECT count(*) FROM movement").fetchone()[0]
        units = database.execute("SELECT coalesce(sum(qty), 0) FROM stock").fetchone()[0]
    return int(movements), int(units)


def test_a_backup_taken_while_the_service_writes_restores_whole(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/warehouse.sqlite3"
    warehouse_command(url, "init")
    name = ref("lead")
    warehouse_command(url, "user", "add", name, "--role", "supervisor")
    token = warehouse_command(url, "token", "create", name).strip()
    backup = tmp_path / "backups" / "warehouse-backup.sqlite3"
    backup.parent.mkdir()

    with running_service(url) as base:

        def call(method: str, path: str, body: dict[str, object]) -> None:
            request = urllib.request.Request(
                base + path, data=json.dumps(body).encode(), method=method,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )  # fmt: skip
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status in (200, 201)

        sku, bin_code = ref("SKU"), "DOCK-01"
        call("PUT", f"/api/products/{sku}", {"name": "Backed up"})
        call("PUT", f"/api/locations/{bin_code}", {})
        stop = threading.Event()
        receipts = 0

        def keep_receiving() -> None:
            nonlocal receipts
            while not stop.is_set():
                call("POST", "/api/stock/receipts", {"sku": sku, "location": bin_code, "qty": 1})
                receipts += 1

        writer = threading.Thread(target=keep_receiving)
        writer.start()
        try:
            deadline = time.monotonic() + 20
            while receipts < 5:
                assert time.monotonic() < deadline, "no receipt was booked"
                time.sleep(0.05)
            said = warehouse_command(url, "backup", str(backup))
            during = receipts
            deadline = time.monotonic() + 20
            while receipts < during + 5:
                assert time.monotonic() < deadline, "the service stopped booking after the backup"
                time.sleep(0.05)
        finally:
            stop.set()
            writer.join()
    assert said.strip() == f"Backed up to {backup}."
    assert not list(backup.parent.glob(".*partial"))

    # Restored into a new database: whole, consistent, and behind the live one.
    restored = f"sqlite:///{tmp_path}/restored.sqlite3"
    said = warehouse_command(restored, "restore", str(backup), "--yes")
    assert said.startswith(f"Restored from {backup}; the database is at revision ")
    assert warehouse_command(restored, "check").startswith("All stock invariants hold")
    movements, units = booked(restored)
    assert 5 <= movements == units < receipts
    assert booked(url) == (receipts, receipts)
    # Restored over the live database too, which then holds what the backup held.
    warehouse_command(url, "restore", str(backup), "--yes")
    assert booked(url) == (movements, units)
    assert warehouse_command(url, "check").startswith("All stock invariants hold")


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WAREHOUSE_CONFIG": str(REPO / "config.toml"),
        "WAREHOUSE_DATABASE_URL": url,
    }
    return subprocess.run([str(WAREHOUSE), *args], env=env, capture_output=True, text=True)


def test_backup_and_restore_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/warehouse.sqlite3"
    warehouse_command(url, "init")
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("not a database")
    cases = [
        (run("postgresql://db.example/warehouse", "backup", str(tmp_path / "b")), "pg_dump"),
        (run(url, "restore", str(not_a_database), "--yes"), "is not a SQLite database"),
        (run(url, "restore", str(tmp_path / "missing"), "--yes"), "There is no backup at"),
        (run(url, "backup", str(tmp_path / "warehouse.sqlite3")), "cannot overwrite the database"),
        (
            run(f"sqlite:///{tmp_path}/none.sqlite3", "backup", str(tmp_path / "b")),
            "no database at",
        ),
    ]
    for done, said in cases:
        assert done.returncode == 1 and said in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    # Refused restores changed nothing: the database is whole and still ours.
    warehouse_command(url, "check")
    # Without --yes the restore asks first, and no answer is no.
    assert run(url, "restore", str(tmp_path / "warehouse.sqlite3")).returncode == 1
