"""PostgreSQL restarted under load, on a server of the test's own: while it is down requests
answer 503, and the service recovers by itself when it is back; every request refused meanwhile
is applied once when retried with its key."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.conftest import free_port, running_service, warehouse_command
from tests.system.test_retries import BIN, SKUS, books, post_receipt, prepare


def _bin(name: str) -> str:
    """A PostgreSQL server program: on PATH, or in Debian's versioned directory."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        pytest.fail(f"{name} is not installed (Debian's postgresql package has it)")
    return found


def _as_owner(*command: str) -> list[str]:
    # The server refuses to run as root: as root, run it as the postgres user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@dataclass(frozen=True)
class Cluster:
    data: Path
    port: int

    def ctl(self, *args: str) -> None:
        subprocess.run(
            _as_owner(_bin("pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"
        self.ctl("-o", options, "-l", str(self.data / "server.log"), "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL server of this test's own, in a temporary directory (outside pytest's
    own, which only its owner may enter)."""
    with tempfile.TemporaryDirectory(prefix="warehouse-pg-") as folder:
        data = Path(folder) / "data"
        data.mkdir()
        if os.geteuid() == 0:
            for path in (folder, data):
                shutil.chown(path, "postgres")
        subprocess.run(
            _as_owner(_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                      "--no-sync"),
            check=True,
            capture_output=True,
        )  # fmt: skip
        server = Cluster(data, free_port())
        server.start()
        try:
            yield server
        finally:
            server.ctl("-m", "immediate", "stop")


def test_postgresql_restarted_mid_load_gives_503_then_recovers(cluster: Cluster) -> None:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres") as admin:
        admin.autocommit = True
        admin.execute("CREATE DATABASE warehouse")
    url = f"postgresql://postgres@127.0.0.1:{cluster.port}/warehouse"
    token = prepare(url)
    answers: list[tuple[str, dict[str, object], int, object, float]] = []
    stop = threading.Event()

    def load(me: int) -> None:
        for n in range(100_000):
            if stop.is_set():
                return
            body = {"sku": SKUS[n % len(SKUS)], "location": BIN, "qty": 1 + n % 4}
            key = f"restart-{me}-{n}"
            status, answer = post_receipt(base, token, body, key)
            answers.append((key, body, status, answer, time.monotonic()))
            if status != 201:
                time.sleep(0.05)  # a client backs off a little when refused

    with running_service(url, workers=2) as base:
        clients = [threading.Thread(target=load, args=(me,)) for me in range(3)]
        for thread in clients:
            thread.start()
        while len(answers) < 30:
            stop.wait(0.01)
        cluster.stop()
        down_at = time.monotonic()
        while not any(status == 503 for *_, status, _, _ in answers[-5:]):
            assert time.monotonic() - down_at < 30, "no request was refused while it was down"
            stop.wait(0.05)
        cluster.start()
        up_at = time.monotonic()
        # Recovered by itself: requests are booked again without restarting the service.
        while sum(1 for *_, status, _, at in answers if status == 201 and at > up_at) < 30:
            assert time.monotonic() - up_at < 30, "the service did not recover"
            stop.wait(0.05)
        stop.set()
        for thread in clients:
            thread.join(timeout=60)

        statuses = {status for _, _, status, _, _ in answers}
        assert statuses == {201, 503}, statuses
        refused = [(key, body, answer) for key, body, status, answer, _ in answers if status == 503]
        assert all(
            answer == {"error": {"code": "database_unavailable",
                                 "message": "The database does not answer."}}
            for _, _, answer in refused
        ), refused[:3]  # fmt: skip
        for key, body, _ in refused:
            assert post_receipt(base, token, body, key)[0] == 201
    wanted = {sku: 0 for sku in SKUS}
    for _, body, _, _, _ in answers:
        wanted[str(body["sku"])] += int(str(body["qty"]))
    assert books(url) == (wanted, len(answers))
    assert "All stock invariants hold" in warehouse_command(url, "check")
