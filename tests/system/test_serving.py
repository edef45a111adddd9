"""The served service (`warehouse serve`, two workers) against clients that send slowly, and
what operations read from it: the JSON request log on standard output and one /metrics for
every worker."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import ref, running_service, warehouse_command

WORKERS = 2


def timed_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, float, str]:
    """Status, seconds taken and body of a GET that gives up after 5 s."""
    started = time.monotonic()
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as answer:
        body = answer.read().decode()
        return answer.status, time.monotonic() - started, body


def send_json(base: str, method: str, path: str, token: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return int(answer.status)


@contextmanager
def trickling(base: str, pieces: list[bytes], count: int, every_s: float) -> Iterator[list[str]]:
    """`count` connections, each sending `pieces` one at a time, `every_s` apart, until the
    block ends; yields the list their first answer lines are added to."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    stop = threading.Event()
    started = threading.Barrier(count + 1)
    answers: list[str] = []

    def client() -> None:
        with socket.create_connection((host, port), timeout=30) as sock:
            sock.sendall(pieces[0])
            started.wait()
            try:
                for piece in pieces[1:]:
                    if stop.wait(every_s):
                        return
                    sock.sendall(piece)
                answers.append(sock.recv(200).decode(errors="replace").split("\r\n")[0])
            except OSError:
                answers.append("closed by the service")

    threads = [threading.Thread(target=client, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    started.wait(timeout=10)
    try:
        yield answers
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def test_slow_clients_do_not_hold_the_workers(empty_database_url: str) -> None:
    warehouse_command(empty_database_url, "init")
    with running_service(empty_database_url, workers=WORKERS) as base:
        # More connections than workers, each sending its headers a few bytes a second.
        headers = b"GET /healthz HTTP/1.1\r\nHost: warehouse\r\nX-Slow: " + b"a" * 40 + b"\r\n\r\n"
        pieces = [headers[:20]] + [headers[i : i + 1] for i in range(20, len(headers))]
        with trickling(base, pieces, count=WORKERS + 1, every_s=0.25) as answers:
            deadline = time.monotonic() + 6.5
            while time.monotonic() < deadline:
                for path in ("/healthz", "/login"):
                    status, took, _ = timed_get(base + path)
                    assert status == 200
                    assert took < 1, f"{path} took {took:.1f} s behind slow clients"
                time.sleep(0.2)
        # Headers get the keep-alive time (5 s) to arrive; then the connection is closed.
        assert answers == ["closed by the service"] * (WORKERS + 1)


def test_a_slowly_sent_body_holds_up_no_other_write(empty_database_url: str) -> None:
    warehouse_command(empty_database_url, "init")
    name = ref("lead")
    warehouse_command(empty_database_url, "user", "add", name, "--role", "supervisor")
    token = warehouse_command(empty_database_url, "token", "create", name).strip()
    with running_service(empty_database_url, workers=WORKERS) as base:
        body = json.dumps({"name": "Slowly sent", "barcodes": []}).encode()
        head = (
            f"PUT /api/products/{ref('SLOW')} HTTP/1.1\r\nHost: warehouse\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        # The headers at once, the body a byte at a time: on SQLite a request that waited for
        # its body inside its write transaction would hold the one write lock meanwhile.
        pieces = [head] + [body[i : i + 1] for i in range(len(body))]
        with trickling(base, pieces, count=WORKERS + 1, every_s=0.1) as answers:
            for _ in range(5):
                started = time.monotonic()
                sku = ref("FAST")
                assert send_json(base, "PUT", f"/api/products/{sku}", token, {"name": sku}) == 201
                took = time.monotonic() - started
                assert took < 1, f"a write took {took:.1f} s behind slowly sent bodies"
            # The slow ones are still being sent, and are then answered in full.
            assert answers == []
            deadline = time.monotonic() + 20
            while len(answers) < WORKERS + 1:
                assert time.monotonic() < deadline, "the slowly sent bodies were not answered"
                time.sleep(0.1)
        # The first creates the product, the others update it.
        assert sorted(answers) == ["HTTP/1.1 200 OK"] * WORKERS + ["HTTP/1.1 201 CREATED"]


def test_concurrent_puts_of_one_new_product_all_succeed(empty_database_url: str) -> None:
    warehouse_command(empty_database_url, "init")
    name = ref("lead")
    warehouse_command(empty_database_url, "user", "add", name, "--role", "supervisor")
    token = warehouse_command(empty_database_url, "token", "create", name).strip()
    clients = 6
    with running_service(empty_database_url, workers=WORKERS) as base:
        for _ in range(5):
            sku = ref("RACE")
            together = threading.Barrier(clients)

            def put(sku: str = sku, together: threading.Barrier = together) -> int:
                together.wait()
                body = {"name": sku, "barcodes": []}
                return send_json(base, "PUT", f"/api/products/{sku}", token, body)

            with ThreadPoolExecutor(clients) as pool:
                statuses = list(pool.map(lambda _: put(), range(clients)))
            # A PUT is a create-or-replace: racing ones queue up, none is refused.
            assert sorted(statuses) == [200] * (clients - 1) + [201]


def served_by(metrics: Path) -> set[str]:
    """The processes whose request latencies are in a PROMETHEUS_MULTIPROC_DIR."""
    return {path.stem.rpartition("_")[2] for path in metrics.glob("histogram_*.db")}


def test_one_metrics_for_every_worker_and_a_json_log_line_per_request(
    empty_database_url: str, tmp_path: Path
) -> None:
    warehouse_command(empty_database_url, "init")
    output: list[str] = []
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    # An earlier run's figures are wiped when the service starts.
    (metrics / "histogram_1.db").write_bytes(b"stale")
    env = {
        "WAREHOUSE_SERVER_METRICS_TOKEN": "scrape-token-1",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    with running_service(empty_database_url, workers=WORKERS, env=env, output=output) as base:
        # Requests at once, batch after batch, until both workers have taken some: each
        # worker keeps its figures in a file of its own there.
        sent, deadline = 0, time.monotonic() + 60
        while len(served_by(metrics)) < WORKERS:
            assert time.monotonic() < deadline, "one worker took every request"
            threads = [
                threading.Thread(target=timed_get, args=(f"{base}/healthz",)) for _ in range(20)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            sent += len(threads)
        try:
            timed_get(base + "/metrics", {"Authorization": "Bearer wrong"})
            raise AssertionError("the metrics answered a wrong token")
        except urllib.error.HTTPError as refused:
            assert refused.code == 403
        status, _, text = timed_get(base + "/metrics", {"Authorization": "Bearer scrape-token-1"})
        assert status == 200
        # The health check that running_service waits on counts too.
        sample = (
            'warehouse_request_seconds_count{endpoint="health.healthz",method="GET",status="200"}'
        )
        counted = [line for line in text.splitlines() if line.startswith(sample)]
        # One scrape sums both workers (and the health check running_service waited on).
        assert len(counted) == 1 and float(counted[0].split()[-1]) >= sent + 1
        assert 'warehouse_print_jobs{state="queued"} 0.0' in text
        assert "1" not in served_by(metrics)
    lines = [json.loads(line) for line in output[0].splitlines() if line.startswith("{")]
    health = [line for line in lines if line["path"] == "/healthz"]
    assert len(health) >= sent + 1 and {line["status"] for line in health} == {200}
    metrics = [line for line in lines if line["path"] == "/metrics"]
    assert [line["status"] for line in metrics] == [403, 200]
    assert all(line["duration_ms"] >= 0 and line["endpoint"] for line in lines)


def test_a_body_that_never_arrives_is_answered_408_at_its_deadline(
    empty_database_url: str,
) -> None:
    warehouse_command(empty_database_url, "init")
    env = {"WAREHOUSE_SERVER_BODY_TIMEOUT_S": "2"}
    with running_service(empty_database_url, workers=WORKERS, env=env) as base:
        url = urlsplit(base)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/session HTTP/1.1\r\nHost: warehouse\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            started = time.monotonic()
            answer = sock.recv(1000)
            took = time.monotonic() - started
            # Then the service closes the connection (after a short drain of what may come).
            while chunk := sock.recv(1000):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"did not arrive in time" in answer
        assert 1.5 < took < 4, f"answered after {took:.1f} s"
        # Only that connection: the service answers the next request as usual.
        assert timed_get(base + "/healthz")[0] == 200
