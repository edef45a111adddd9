"""Resolve latency and throughput over HTTP: 50 concurrent clients, gunicorn, SQLite.

    .venv/bin/python -m tests.bench.bench_resolve [--requests 20000] [--clients 50] [--workers 4]
    .venv/bin/python -m tests.bench.bench_resolve --rate 400      # paced: latency under a load

Without --rate each client sends its next scan when the last is answered, which measures
the most the service answers; by Little's law its latency is then clients / throughput.
With --rate the clients together offer that many scans a second, as scanners on a floor
do, and the latency is measured from when each scan was due.

The service runs on a temporary SQLite file with the demo warehouse. The clients (processes
of threads, each one request at a time) resolve a mix of what the floor scans: product
EAN-13s, case GTIN-14s, GS1-128 codes with lot and expiry, bin codes, and a few codes with a
bad check digit (refused, and logged like every scan). Every scan carries a scan id.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import secrets
import socket
import tempfile
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from scanners.gtin import with_check_digit
from tests.conftest import running_service, warehouse_command

GS = "\x1d"
PROCESSES = 5


def scan_mix(count: int, seed: int) -> list[str]:
    """What a shift scans: mostly products and bins, some GS1, a few bad codes."""
    rng = random.Random(seed)
    codes = []
    for _ in range(count):
        number = rng.randint(1, 60)
        ean = with_check_digit(f"0614141{number:05d}")
        roll = rng.random()
        if roll < 0.45:
            codes.append(ean)
        elif roll < 0.75:
            codes.append(
                f"{rng.choice('ABCDE')}{rng.randint(1, 8):02d}-{rng.randint(1, 8):02d}-{rng.randint(1, 3)}"
            )
        elif roll < 0.9:
            codes.append(f"]C101{'0' + ean}1727123110L{rng.randint(1000, 9999)}{GS}3012")
        elif roll < 0.97:
            codes.append(with_check_digit("1" + ean[:12]))
        else:
            codes.append(ean[:-1] + str((int(ean[-1]) + 1) % 10))
    return codes


def _request(host: str, port: int, token: str, code: str) -> bytes:
    body = json.dumps({"code": code, "scan_id": secrets.token_hex(16)}).encode()
    head = (
        f"POST /api/barcodes/resolve HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _thread(
    base: str, token: str, codes: list[str], every: float, out: list[tuple[int, float]]
) -> None:
    # Raw sockets and requests made up front: the load generator shares the machine's cores
    # with the service, so it must cost as little as it can.
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [_request(host, port, token, code) for code in codes]
    first = time.perf_counter() + random.random() * every
    for number, request in enumerate(requests):
        started = time.perf_counter()
        if every:
            # Paced: latency counts from when the scan was due, so a slow answer that
            # delays the next scans is not hidden (no coordinated omission).
            started = first + number * every
            time.sleep(max(0.0, started - time.perf_counter()))
        with socket.create_connection((host, port), timeout=60) as connection:
            connection.sendall(request)
            answer = bytearray()
            while chunk := connection.recv(65536):
                answer += chunk
        out.append((int(answer[9:12]), time.perf_counter() - started))


def _process(
    base: str, token: str, shares: list[list[str]], start_at: float, every: float = 0.0
) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    threads = [
        threading.Thread(target=_thread, args=(base, token, share, every, out)) for share in shares
    ]
    time.sleep(max(0.0, start_at - time.time()))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="scans per second offered in all (paced clients); 0: each client as fast as it can",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        warehouse_command(url, "init")
        warehouse_command(url, "demo")
        warehouse_command(url, "user", "add", "bench-bot", "--role", "receiver")
        token = warehouse_command(url, "token", "create", "bench-bot").strip()
        codes = scan_mix(args.requests, seed=7)
        shares = [codes[me :: args.clients] for me in range(args.clients)]
        per_process = [shares[p::PROCESSES] for p in range(PROCESSES)]
        every = args.clients / args.rate if args.rate else 0.0
        with running_service(url, workers=args.workers) as base:
            _process(base, token, [scan_mix(200, seed=1)], time.time())  # warm up
            with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
                start_at = time.time() + 1.0
                pending = pool.starmap_async(
                    _process,
                    [(base, token, share, start_at, every) for share in per_process],
                )
                results = pending.get()
                elapsed = time.time() - start_at
    answers = [answer for result in results for answer in result]
    statuses = Counter(status for status, _ in answers)
    latencies = sorted(seconds for _, seconds in answers)
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    load = f"paced at {args.rate:g}/s offered" if args.rate else "each as fast as it can"
    print(
        f"resolve over HTTP: {len(answers)} scans, {args.clients} clients {load}, "
        f"gunicorn {args.workers} workers, SQLite"
    )
    print(
        f"  {len(answers) / elapsed:.0f} resolves/s; latency p50 {p50 * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms; statuses {dict(sorted(statuses.items()))}"
    )


if __name__ == "__main__":
    main()
