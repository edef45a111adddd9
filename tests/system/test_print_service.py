"""Print jobs on the running service (gunicorn): a job stored while the printer is off is
sent once it is on, and once only."""

from __future__ import annotations

import time
from pathlib import Path

from tests.api.test_printing import job, label
from tests.conftest import REPO, free_port, running_service, warehouse_command
from tests.printer import FakePrinter
from warehouse import printing
from warehouse.config import DatabaseConfig, load_config
from warehouse.db import make_engine, make_sessionmaker, writing

# Not collected again by tests/pg: the service here runs on a SQLite file of its own.
POSTGRESQL = False


def test_the_running_service_prints_queued_jobs_once_the_printer_is_up(tmp_path: Path) -> None:
    port = free_port()
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        (REPO / "config.toml").read_text().replace("port = 9100", f"port = {port}")
    )
    url = f"sqlite:///{tmp_path}/warehouse.sqlite3"
    warehouse_command(url, "init")
    engine = make_engine(DatabaseConfig(url=url))
    factory = make_sessionmaker(engine)
    printers = load_config(config_file).printers

    def queue(document: bytes) -> int:
        with writing(factory) as session:
            return printing.queue_job(session, printers, "pack1", "zpl", document, "test").id

    with running_service(url, env={"WAREHOUSE_CONFIG": str(config_file)}):
        # The printer is off: the job waits and is tried again.
        document = label()
        job_id = queue(document)
        deadline = time.monotonic() + 10
        while job(factory, job_id).attempts < 1:
            assert time.monotonic() < deadline, "the job was never tried"
            time.sleep(0.05)
        printer = FakePrinter(port)
        try:
            assert printer.wait_for(1, timeout=15) == [document]
            # Once only: a job stored after it comes through, and nothing else with it.
            after = label()
            queue(after)
            assert printer.wait_for(2, timeout=15) == [document, after]
            assert job(factory, job_id).status == "sent"
        finally:
            printer.close()
    engine.dispose()
