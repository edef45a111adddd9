"""The real station agent (`warehouse-agent` on a pseudo-terminal) against the real service
under gunicorn: scans read while the service is stopped reach the scan log when it is back,
every scan exactly once and in the order scanned, refused ones included."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from tests.conftest import free_port, running_service, warehouse_command
from tests.unit.test_agent import Agent, queued, wait_until
from warehouse.config import DatabaseConfig
from warehouse.db import make_engine, make_sessionmaker
from warehouse.models import ScanLog

# Not collected again by tests/pg: the agent's delivery, not the database, is under test.
POSTGRESQL = False

GS = "\x1d"
STATION = "pack-agent-1"
# A GTIN-13, a GS1-128 with a lot and an expiry, the same GTIN with a bad check digit
# (refused, and logged), a location code, and a tote code.
SCANS = ["4006381333931", "0109506000134352" + "10AB-12" + GS + "17251231", "4006381333932",
         "A01-01-1", "T00042"]  # fmt: skip
WHILE_UP, WHILE_DOWN, AFTER = SCANS, [f"SKU-{n:04d}" for n in range(8)], ["T00043", "T00044"]


def scan(master: int, codes: list[str]) -> None:
    """The scanner sends each code and CR LF."""
    os.write(master, b"".join(code.encode("latin-1") + b"\r\n" for code in codes))


def test_every_scan_is_logged_once_in_order_across_a_service_restart(
    empty_database_url: str, tmp_path: Path, pty: tuple[int, str]
) -> None:
    url = empty_database_url
    warehouse_command(url, "init")
    warehouse_command(url, "user", "add", "pack-agent", "--role", "packer")
    token = warehouse_command(url, "token", "create", "pack-agent").strip()
    engine = make_engine(DatabaseConfig(url=url))
    sessions = make_sessionmaker(engine)

    def logged() -> list[ScanLog]:
        with sessions() as session:
            query = select(ScanLog).where(ScanLog.station == STATION).order_by(ScanLog.id)
            return list(session.scalars(query))

    master, port_path = pty
    outbox = tmp_path / "agent.sqlite3"
    port = free_port()
    agent: Agent | None = None
    try:
        with running_service(url, port=port) as base:
            agent = Agent(base, token, port_path, outbox, STATION)
            scan(master, WHILE_UP)
            wait_until(lambda: len(logged()) == len(WHILE_UP), what="the first scans logged")
        # The service is stopped; the agent keeps what it reads.
        scan(master, WHILE_DOWN)
        wait_until(lambda: queued(outbox) == len(WHILE_DOWN), what="scans kept while down")
        with running_service(url, port=port):
            scan(master, AFTER)
            wait_until(
                lambda: queued(outbox) == 0 and len(logged()) == len(SCANS + WHILE_DOWN + AFTER),
                timeout=30,
                what="every scan logged",
            )
    finally:
        if agent is not None:
            agent.stop()
        engine.dispose()

    log = logged()
    assert [entry.raw for entry in log] == WHILE_UP + WHILE_DOWN + AFTER
    assert len({entry.scan_id for entry in log}) == len(log)
    assert all(entry.source == "agent" and entry.user_id is not None for entry in log)
    assert [entry.raw for entry in log if not entry.accepted] == ["4006381333932"]
    assert log[2].reason == "bad_check_digit"
    assert log[1].kind == "unknown" and log[1].result["gs1"]["lot"] == "AB-12"  # type: ignore[index]
    assert agent is not None
    assert sum(line.startswith("sent ") for line in agent.out) == len(log) - 1
    assert any("refused  '4006381333932': bad_check_digit" in line for line in agent.err)
