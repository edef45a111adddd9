"""The SQLite file's disk full under load: requests are refused with a clear error, nothing is
half stored, and once space is freed the service goes on by itself and every refused request
is applied once when retried with its key."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import running_service, warehouse_command
from tests.system.test_retries import BIN, SKUS, books, post_receipt, prepare

POSTGRESQL = False  # about the SQLite file's own disk


def _as_root(*command: str) -> None:
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    done = subprocess.run([*sudo, *command], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} needs root (or sudo): {done.stderr.strip()}")


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 6 MB filesystem of its own (tmpfs), for the database file and nothing else."""
    with tempfile.TemporaryDirectory(prefix="warehouse-disk-") as folder:
        _as_root("mount", "-t", "tmpfs", "-o", f"size=6m,uid={os.getuid()}", "tmpfs", folder)
        try:
            yield Path(folder)
        finally:
            _as_root("umount", "-l", folder)


def fill(disk: Path) -> Path:
    """Fill the disk to its last byte; returns the file that fills it."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_refuses_clearly_and_the_service_goes_on_once_freed(
    small_disk: Path,
) -> None:
    url = f"sqlite:///{small_disk / 'warehouse.sqlite3'}"
    token = prepare(url)
    sent: list[tuple[str, dict[str, object]]] = []
    refused: list[tuple[str, dict[str, object], int, object]] = []

    def receipt(n: int) -> tuple[int, object]:
        body = {"sku": SKUS[n % len(SKUS)], "location": BIN, "qty": 1 + n % 4}
        key = f"disk-{n}"
        sent.append((key, body))
        status, answer = post_receipt(base, token, body, key)
        if status != 201:
            refused.append((key, body, status, answer))
        return status, answer

    with running_service(url, workers=2) as base:
        assert all(receipt(n)[0] == 201 for n in range(20))
        filler = fill(small_disk)
        # A full disk may leave room for a page or two: write until it refuses.
        for n in range(20, 2000):
            status, answer = receipt(n)
            if status != 201:
                break
        assert refused, "the full disk refused nothing"
        for _, _, status, answer in refused:
            assert status == 507
            assert answer == {"error": {"code": "disk_full", "message": (
                "The database's disk is full: nothing was stored. Free space on it, then "
                "try again.")}}  # fmt: skip
        assert receipt(len(sent))[0] == 507
        filler.unlink()
        # Space again: the service goes on by itself, and the refused requests, sent again
        # with their keys, are applied once.
        assert receipt(len(sent))[0] == 201
        for key, body, _, _ in refused:
            assert post_receipt(base, token, body, key)[0] == 201
    wanted = {sku: 0 for sku in SKUS}
    for _, body in sent:
        wanted[str(body["sku"])] += int(str(body["qty"]))
    assert books(url) == (wanted, len(sent))
    with sqlite3.connect(small_disk / "warehouse.sqlite3") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert "All stock invariants hold" in warehouse_command(url, "check")
