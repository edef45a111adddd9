"""Print jobs on the running service (gunicorn, each worker with its dispatcher): a job stored
while the printer is off is sent once it is on, and once only; a printer that takes a label
and never finishes, or takes it a byte at a time, gets it once, never again unasked; and two
workers never both send one job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_printing import job, label
from tests.conftest import REPO, free_port, running_service, warehouse_command
from tests.printer import FakePrinter
from warehouse import printing
from warehouse.config import DatabaseConfig, PrinterConfig, load_config
from warehouse.db import make_engine, make_sessionmaker, writing

# Not collected again by tests/pg: the service here runs on a SQLite file of its own.
POSTGRESQL = False

# Longer than the lease a send once had (30 s), and than the retries that sent a label again
# after 10 s without an answer.
WINDOW_S = 35


def config_with(folder: Path, printers: dict[str, int]) -> Path:
    """config.toml with raw TCP printers of these names on these ports; returns its path."""
    text = (REPO / "config.toml").read_text()
    for name, port in printers.items():
        text += f'\n[printers.{name}]\nkind = "tcp"\nhost = "127.0.0.1"\nport = {port}\n'
    copy = folder / "config.toml"
    copy.write_text(text)
    return copy


@contextmanager
def service_with_printers(
    folder: Path, printers: dict[str, int], **settings: str
) -> Iterator[tuple[sessionmaker[Session], dict[str, PrinterConfig]]]:
    """The service (two workers) on a database of its own, with these printers and settings
    (WAREHOUSE_...); yields sessions of its database and its printers."""
    config_file = config_with(folder, printers)
    url = f"sqlite:///{folder}/warehouse.sqlite3"
    warehouse_command(url, "init")
    engine = make_engine(DatabaseConfig(url=url))
    env = {"WAREHOUSE_CONFIG": str(config_file), **settings}
    try:
        with running_service(url, workers=2, env=env):
            yield make_sessionmaker(engine), load_config(config_file).printers
    finally:
        engine.dispose()


def queue(
    factory: sessionmaker[Session], printers: dict[str, PrinterConfig], name: str, doc: bytes
) -> int:
    with writing(factory) as session:
        return printing.queue_job(session, printers, name, "zpl", doc, f"test on {name}").id


def wait_until_tried(factory: sessionmaker[Session], job_id: int, tries: int) -> None:
    deadline = time.monotonic() + 15
    while job(factory, job_id).attempts < tries:
        assert time.monotonic() < deadline, "the job was not tried"
        time.sleep(0.05)


def test_the_running_service_prints_queued_jobs_once_the_printer_is_up(tmp_path: Path) -> None:
    port = free_port()
    with service_with_printers(tmp_path, {"spare": port}) as (factory, printers):
        # The printer is off: the job waits and is tried again.
        document = label()
        job_id = queue(factory, printers, "spare", document)
        wait_until_tried(factory, job_id, 1)
        printer = FakePrinter(port)
        try:
            assert printer.wait_for(1, timeout=15) == [document]
            # Once only: a job stored after it comes through, and nothing else with it.
            after = label()
            queue(factory, printers, "spare", after)
            assert printer.wait_for(2, timeout=15) == [document, after]
            assert job(factory, job_id).status == "sent"
        finally:
            printer.close()


def test_printers_that_hang_trickle_or_come_back_get_each_label_once(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("stuck", "trickle", "flaky")}
    with (
        service_with_printers(tmp_path, ports, WAREHOUSE_PRINTING_DEADLINE_S="3") as (
            factory,
            printers,
        ),
        ExitStack() as switched_on,
    ):
        # One takes every byte and never closes; one takes a byte every 2 s; one is off.
        stuck = switched_on.enter_context(FakePrinter(ports["stuck"], hold_open=True))
        trickle = switched_on.enter_context(FakePrinter(ports["trickle"], trickle_s=2))
        documents = {name: label() for name in ports}
        jobs = {name: queue(factory, printers, name, documents[name]) for name in ports}
        wait_until_tried(factory, jobs["flaky"], 2)
        flaky = switched_on.enter_context(FakePrinter(ports["flaky"]))
        on = {"stuck": stuck, "trickle": trickle, "flaky": flaky}
        window_ends = time.monotonic() + WINDOW_S
        while time.monotonic() < window_ends:
            started = {name: len(printer.connections) for name, printer in on.items()}
            assert max(started.values()) <= 1, f"a label went out twice: {started}"
            time.sleep(0.2)
        # The dispatchers were at work to the end: a job stored now comes through.
        after = label()
        queue(factory, printers, "flaky", after)
        assert flaky.wait_for(2, timeout=15) == [documents["flaky"], after]
        assert [len(p.connections) for p in (stuck, trickle, flaky)] == [1, 1, 2]
        assert stuck.jobs == [documents["stuck"]]
        assert documents["trickle"].startswith(bytes(trickle.connections[0]))
        # The printers that did not finish wait for a person's word; the other printed.
        for name in ("stuck", "trickle"):
            held = job(factory, jobs[name])
            assert held.status == "uncertain" and held.attempts == 1, held.last_error
            assert "may have printed" in held.last_error and "within 3 s" in held.last_error
        assert job(factory, jobs["flaky"]).status == "sent"


def test_two_workers_never_both_send_one_job_while_its_send_is_alive(tmp_path: Path) -> None:
    port = free_port()
    # The label takes the printer some 13 s, many times the lease: only its renewal, while
    # the send is alive, keeps the other worker's dispatcher off the job.
    settings = {"WAREHOUSE_PRINTING_LEASE_S": "2", "WAREHOUSE_PRINTING_DEADLINE_S": "60"}
    with (
        service_with_printers(tmp_path, {"slow": port}, **settings) as (factory, printers),
        FakePrinter(port, trickle_s=0.4) as printer,
    ):
        document = label()
        job_id = queue(factory, printers, "slow", document)
        seen = []
        deadline = time.monotonic() + 45
        while (status := job(factory, job_id).status) != "sent":
            seen.append(status)
            assert status in ("queued", "sending"), (status, job(factory, job_id).last_error)
            assert len(printer.connections) <= 1, "the label went out twice"
            assert time.monotonic() < deadline, "the label was never sent"
            time.sleep(0.1)
        assert seen.count("sending") > 100
        assert printer.jobs == [document] and len(printer.connections) == 1
        assert job(factory, job_id).attempts == 1
