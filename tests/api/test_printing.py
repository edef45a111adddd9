"""Print jobs reach a real TCP listener on 127.0.0.1 standing in for the printer: stored
first, retried while it is off or cuts the connection, sent once, reprinted on demand."""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, free_port
from tests.printer import FakePrinter
from warehouse import printing
from warehouse.config import PrinterConfig
from warehouse.db import writing
from warehouse.errors import Conflict, InvalidInput
from warehouse.models import PrintJob, utcnow


@pytest.fixture
def port() -> int:
    return free_port()


def printers(port: int) -> dict[str, PrinterConfig]:
    return {
        "dock": PrinterConfig(kind="tcp", host="127.0.0.1", port=port),
        "handheld": PrinterConfig(kind="browser"),
    }


def label() -> bytes:
    return f"^XA^FO50,50^FH^FD{secrets.token_hex(4)}^FS^XZ".encode()


def queue(factory: sessionmaker[Session], port: int, document: bytes, printer: str = "dock") -> int:
    with writing(factory) as session:
        return printing.queue_job(session, printers(port), printer, "zpl", document, "test").id


def job(factory: sessionmaker[Session], job_id: int) -> PrintJob:
    with factory() as session:
        found = session.get(PrintJob, job_id)
        assert found is not None
        return found


def due_now(factory: sessionmaker[Session], job_id: int) -> None:
    """Skip the backoff wait, as if its time had come."""
    with writing(factory) as session:
        session.execute(update(PrintJob).where(PrintJob.id == job_id).values(next_try_at=utcnow()))


def test_a_job_reaches_the_printer_once(factory: sessionmaker[Session], port: int) -> None:
    printer = FakePrinter(port)
    try:
        document = label()
        job_id = queue(factory, port, document)
        assert printing.dispatch(factory, printers(port)) >= 1
        assert printer.wait_for(1) == [document]
        assert printing.dispatch(factory, printers(port)) == 0
        # Once only: the next job comes through, and nothing else with it.
        after = label()
        queue(factory, port, after)
        assert printing.dispatch(factory, printers(port)) == 1
        assert printer.wait_for(2) == [document, after]
        sent = job(factory, job_id)
        assert sent.status == "sent" and sent.attempts == 1 and sent.sent_at is not None
    finally:
        printer.close()


def test_a_printer_that_is_off_gets_the_job_when_it_is_back(
    factory: sessionmaker[Session], port: int
) -> None:
    document = label()
    job_id = queue(factory, port, document)
    printing.dispatch(factory, printers(port))
    waiting = job(factory, job_id)
    assert waiting.status == "queued" and waiting.attempts == 1
    assert "refused" in waiting.last_error.lower() and waiting.next_try_at > utcnow()
    # Not due yet: the backoff holds it back.
    assert printing.dispatch(factory, printers(port)) == 0
    printer = FakePrinter(port)
    try:
        due_now(factory, job_id)
        printing.dispatch(factory, printers(port))
        assert printer.wait_for(1) == [document]
        assert job(factory, job_id).status == "sent"
    finally:
        printer.close()


def test_a_connection_cut_mid_job_is_sent_again_whole(
    factory: sessionmaker[Session], port: int
) -> None:
    document = label() * 2000  # large enough to be cut in the middle
    job_id = queue(factory, port, document)
    cutting = FakePrinter(port, cut_after=1000)
    try:
        printing.dispatch(factory, printers(port))
        assert job(factory, job_id).status == "queued" and cutting.jobs == []
    finally:
        cutting.close()
    printer = FakePrinter(port)
    try:
        due_now(factory, job_id)
        printing.dispatch(factory, printers(port))
        assert printer.wait_for(1) == [document]
    finally:
        printer.close()


def test_two_senders_never_send_one_job_twice(factory: sessionmaker[Session], port: int) -> None:
    printer = FakePrinter(port)
    try:
        documents = [label() for _ in range(12)]
        for document in documents:
            queue(factory, port, document)
        threads = [
            threading.Thread(target=printing.dispatch, args=(factory, printers(port)))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        printing.dispatch(factory, printers(port))
        received = printer.wait_for(12)
        assert sorted(received) == sorted(documents)
    finally:
        printer.close()


def test_reprint_and_browser_jobs(factory: sessionmaker[Session], port: int) -> None:
    printer = FakePrinter(port)
    try:
        document = label()
        first = queue(factory, port, document)
        printing.dispatch(factory, printers(port))
        with writing(factory) as session:
            again = printing.reprint(session, first).id
        printing.dispatch(factory, printers(port))
        assert printer.wait_for(2) == [document, document]
        assert job(factory, again).reprint_of == first
        # A browser printer's job waits for the handheld to open it.
        for_handheld = queue(factory, port, b"%PDF-1.4 ...", printer="handheld")
        printing.dispatch(factory, printers(port))
        assert job(factory, for_handheld).status == "queued"
        with writing(factory) as session:
            printing.fetched_by_browser(session, for_handheld)
        assert job(factory, for_handheld).status == "sent"
    finally:
        printer.close()


@pytest.mark.parametrize(
    ("printer", "format_", "document"),
    [("nowhere", "zpl", b"^XA^XZ"), ("dock", "txt", b"x"), ("dock", "zpl", b"")],
)
def test_bad_jobs_are_refused(
    factory: sessionmaker[Session], port: int, printer: str, format_: str, document: bytes
) -> None:
    with pytest.raises(InvalidInput), writing(factory) as session:
        printing.queue_job(session, printers(port), printer, format_, document, "bad")


def test_backoff_grows_to_a_minute() -> None:
    assert [printing.backoff(n).total_seconds() for n in (1, 2, 3, 7, 20)] == [1, 2, 4, 60, 60]
    assert printing.backoff(1) == timedelta(seconds=1)


def test_a_reprint_of_a_job_not_sent_yet_is_not_a_second_job(
    factory: sessionmaker[Session], port: int
) -> None:
    document = label()
    job_id = queue(factory, port, document)
    printing.dispatch(factory, printers(port))  # the printer is off: the job waits
    with writing(factory) as session:
        again = printing.reprint(session, job_id)
        assert again.id == job_id and again.next_try_at <= utcnow()
    with factory() as session:
        doubles = session.scalars(select(PrintJob).where(PrintJob.reprint_of == job_id)).all()
        assert doubles == []
    printer = FakePrinter(port)
    try:
        printing.dispatch(factory, printers(port))
        assert printer.wait_for(1) == [document]
    finally:
        printer.close()


def test_a_supervisor_calls_off_or_sends_elsewhere_a_job_not_sent_yet(
    factory: sessionmaker[Session], port: int
) -> None:
    off, moved = queue(factory, port, label()), queue(factory, port, label())
    elsewhere = free_port()
    config = {
        **printers(port),
        "spare": PrinterConfig(kind="tcp", host="127.0.0.1", port=elsewhere),
    }
    with writing(factory) as session:
        assert printing.cancel(session, off).status == "cancelled"
        rerouted = printing.reroute(session, moved, "spare", config)
        assert rerouted.printer == "spare" and rerouted.attempts == 0
    spare = FakePrinter(elsewhere)
    try:
        printing.dispatch(factory, config)
        assert len(spare.wait_for(1)) == 1
        assert job(factory, off).status == "cancelled" and job(factory, moved).status == "sent"
    finally:
        spare.close()
    # A job sent, or called off, is not waiting any more; a printer must print the format.
    for act in (
        lambda s: printing.cancel(s, moved),
        lambda s: printing.reroute(s, off, "spare", config),
    ):
        with pytest.raises(Conflict, match="Job"), writing(factory) as session:
            act(session)
    waiting = queue(factory, port, label())
    with pytest.raises(InvalidInput, match="cannot print this ZPL"), writing(factory) as session:
        printing.reroute(session, waiting, "handheld", config)
    with pytest.raises(InvalidInput, match="No printer"), writing(factory) as session:
        printing.reroute(session, waiting, "nowhere", config)


def test_print_jobs_over_the_api(api: ApiClient, factory: sessionmaker[Session], port: int) -> None:
    job_id = queue(factory, port, label())
    assert api.as_role("picker").get("/api/print-jobs").status_code == 403
    listed = api.as_role("supervisor").get("/api/print-jobs")
    assert listed.status_code == 200 and job_id in [j["id"] for j in listed.json["jobs"]]
    again = api.as_role("packer").post(f"/api/print-jobs/{job_id}/reprint")
    assert again.status_code == 200 and again.json["id"] == job_id
    assert api.as_role("packer").post(f"/api/print-jobs/{job_id}/cancel").status_code == 403
    called_off = api.as_role("supervisor").post(f"/api/print-jobs/{job_id}/cancel")
    assert called_off.status_code == 200 and called_off.json["status"] == "cancelled"
    twice = api.as_role("supervisor").post(f"/api/print-jobs/{job_id}/cancel")
    assert twice.status_code == 409 and twice.json["error"]["code"] == "print_job_not_waiting"
    unknown = api.as_role("supervisor").post("/api/print-jobs/999999999/route", {"printer": "x"})
    assert unknown.status_code == 404
