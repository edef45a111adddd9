"""Print jobs reach a real TCP listener on 127.0.0.1 standing in for the printer: stored
first, retried while it is off or cuts the connection, sent once, reprinted on demand."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ApiClient, Floor, free_port
from tests.printer import FakePrinter
from warehouse import printing
from warehouse.config import PrinterConfig, PrintingConfig
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


def test_a_connection_cut_before_the_label_went_out_whole_is_sent_again(
    factory: sessionmaker[Session], port: int
) -> None:
    # One format, larger than the printer's window and the sender's buffer together: the cut
    # comes before its ^XZ can have gone out, so nothing printed.
    document = b"^XA^FO50,50^FD" + b"x" * 8_000_000 + b"^FS^XZ"
    job_id = queue(factory, port, document)
    cutting = FakePrinter(port, cut_after=1000)
    try:
        printing.dispatch(factory, printers(port))
        cut = job(factory, job_id)
        assert cut.status == "queued" and cutting.jobs == [], cut.last_error
        assert "cut the connection in the middle" in cut.last_error
    finally:
        cutting.close()
    printer = FakePrinter(port)
    try:
        due_now(factory, job_id)
        printing.dispatch(factory, printers(port))
        assert printer.wait_for(1) == [document]
        assert job(factory, job_id).status == "sent"
    finally:
        printer.close()


def held_for_a_person(factory: sessionmaker[Session], job_id: int) -> PrintJob:
    """The job, which must be waiting for a person's word, said in words of the floor."""
    held = job(factory, job_id)
    assert held.status == "uncertain", (held.status, held.last_error)
    assert "may have printed" in held.last_error and "Look at the printer" in held.last_error
    assert not any(word in held.last_error for word in ("Errno", "Error", "[", "Traceback"))
    with factory() as session:
        assert session.scalar(
            select(PrintJob.id).where(printing.not_printed(), PrintJob.id == job_id)
        )
    assert printing.did_not_print(held)
    return held


def never_again(
    factory: sessionmaker[Session], job_id: int, printer: FakePrinter, port: int, timing: Any
) -> None:
    """Pass after pass, with the job's time long come, the job is not sent again."""
    for _ in range(5):
        due_now(factory, job_id)
        assert printing.dispatch(factory, printers(port), timing) == 0
    assert len(printer.connections) == 1
    held_for_a_person(factory, job_id)


QUICK = PrintingConfig(deadline_s=1, lease_s=30)


def test_a_connection_cut_once_the_label_went_out_waits_for_a_person(
    factory: sessionmaker[Session], port: int
) -> None:
    document = label()
    job_id = queue(factory, port, document)
    # Reset once it has every byte: it may have printed before it went off.
    printer = FakePrinter(port, cut_after=len(document))
    try:
        printing.dispatch(factory, printers(port), QUICK)
        assert "cut the connection" in held_for_a_person(factory, job_id).last_error
        never_again(factory, job_id, printer, port, QUICK)
    finally:
        printer.close()


@pytest.mark.parametrize(
    "misbehaving",
    [
        pytest.param({"hold_open": True}, id="never-closes"),
        # 0.3 s a byte: the label takes ten seconds, ten times the deadline.
        pytest.param({"trickle_s": 0.3}, id="trickles"),
    ],
)
def test_a_printer_that_does_not_finish_gets_the_label_once(
    factory: sessionmaker[Session], port: int, misbehaving: dict[str, Any]
) -> None:
    document = label()
    job_id = queue(factory, port, document)
    printer = FakePrinter(port, **misbehaving)
    try:
        started = time.monotonic()
        assert printing.dispatch(factory, printers(port), QUICK) == 0
        # The send's deadline holds however the printer behaves.
        assert time.monotonic() - started < 3
        assert "within 1 s" in held_for_a_person(factory, job_id).last_error
        assert bytes(printer.connections[0]) == document[: len(printer.connections[0])]
        never_again(factory, job_id, printer, port, QUICK)
        # A person's word settles it: "it printed" ends it, and it never goes out again.
        with writing(factory) as session:
            assert printing.mark_printed(session, job_id).status == "sent"
        due_now(factory, job_id)
        assert printing.dispatch(factory, printers(port), QUICK) == 0
        assert len(printer.connections) == 1 and job(factory, job_id).status == "sent"
        refused = pytest.raises(Conflict, match="only a label that may have printed")
        with refused, writing(factory) as session:
            printing.mark_printed(session, job_id)
    finally:
        printer.close()


def test_print_again_is_a_persons_word_and_sends_the_job_once_more(
    factory: sessionmaker[Session], port: int
) -> None:
    document = label()
    job_id = queue(factory, port, document)
    hanging = FakePrinter(port, hold_open=True)
    try:
        printing.dispatch(factory, printers(port), QUICK)
        held_for_a_person(factory, job_id)
    finally:
        hanging.close()
    printer = FakePrinter(port)
    try:
        with writing(factory) as session:
            again = printing.reprint(session, job_id)
        # The same job, not a second one beside it: one SSCC, one label.
        assert again.id == job_id and again.status == "queued" and again.last_error == ""
        assert not printing.did_not_print(again)
        printing.dispatch(factory, printers(port), QUICK)
        assert printer.wait_for(1) == [document]
        assert job(factory, job_id).status == "sent"
    finally:
        printer.close()


def test_a_send_that_outlives_its_lease_is_not_taken_by_another_dispatcher(
    factory: sessionmaker[Session], port: int
) -> None:
    # The printer takes about 3 s over the label; the lease, unless renewed, runs out in 1 s.
    timing = PrintingConfig(deadline_s=20, lease_s=1)
    document = label()
    job_id = queue(factory, port, document)
    printer = FakePrinter(port, trickle_s=0.1)
    try:
        first = threading.Thread(target=printing.dispatch, args=(factory, printers(port), timing))
        first.start()
        claimed_by_first = time.monotonic() + 5
        while job(factory, job_id).status != "sending":
            assert time.monotonic() < claimed_by_first, "the first dispatcher took no job"
            time.sleep(0.01)
        seen = set()
        while first.is_alive():
            # A second dispatcher passes the while: it must neither send the job nor take
            # the live send for a dead one.
            assert printing.dispatch(factory, printers(port), timing) == 0
            seen.add(job(factory, job_id).status)
            time.sleep(0.05)
        first.join()
        assert seen <= {"sending", "sent"}, seen
        assert "sending" in seen
        assert job(factory, job_id).status == "sent"
        assert printer.wait_for(1) == [document] and len(printer.connections) == 1
    finally:
        printer.close()


def test_a_job_whose_sender_died_mid_send_waits_for_a_person(
    factory: sessionmaker[Session], port: int
) -> None:
    job_id = queue(factory, port, label())
    # Claimed, and its sender gone without a word: the lease it never renewed ran out.
    with writing(factory) as session:
        session.execute(
            update(PrintJob)
            .where(PrintJob.id == job_id)
            .values(status="sending", attempts=1, lease_until=utcnow() - timedelta(seconds=1))
        )
    printer = FakePrinter(port)
    try:
        assert printing.dispatch(factory, printers(port)) == 0
        assert "stopped part way" in held_for_a_person(factory, job_id).last_error
        for _ in range(3):
            due_now(factory, job_id)
            assert printing.dispatch(factory, printers(port)) == 0
        assert printer.connections == []
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


def uncertain_job(factory: sessionmaker[Session], port: int) -> int:
    """A job sent to a printer that took it and never closed: it may have printed."""
    job_id = queue(factory, port, label())
    printer = FakePrinter(port, hold_open=True)
    try:
        printing.dispatch(factory, printers(port), QUICK)
    finally:
        printer.close()
    held_for_a_person(factory, job_id)
    return job_id


def test_a_persons_word_over_the_api(
    api: ApiClient, factory: sessionmaker[Session], port: int
) -> None:
    job_id = uncertain_job(factory, port)
    listed = api.as_role("supervisor").get("/api/print-jobs").json["jobs"]
    assert {"id": job_id, "status": "uncertain"}.items() <= next(
        j for j in listed if j["id"] == job_id
    ).items()
    assert api.as_role("picker").post(f"/api/print-jobs/{job_id}/printed").status_code == 403
    printed = api.as_role("packer").post(f"/api/print-jobs/{job_id}/printed")
    assert printed.status_code == 200, printed.json
    assert printed.json["status"] == "sent" and printed.json["last_error"] == ""
    again = api.as_role("packer").post(f"/api/print-jobs/{job_id}/printed")
    assert again.status_code == 409 and again.json["error"]["code"] == "print_job_not_uncertain"
    # "Print it again" is a reprint: the same job, queued at once.
    other = uncertain_job(factory, port)
    reprinted = api.as_role("packer").post(f"/api/print-jobs/{other}/reprint")
    assert reprinted.status_code == 200 and reprinted.json["id"] == other
    assert reprinted.json["status"] == "queued"
    assert api.as_role("packer").post("/api/print-jobs/999999999/printed").status_code == 404


def test_a_persons_word_on_the_printing_page(
    floor: Callable[[str], Floor], factory: sessionmaker[Session], port: int
) -> None:
    printed, again = uncertain_job(factory, port), uncertain_job(factory, port)
    lead = floor("supervisor")
    page = lead.client.get("/printing")
    row = page.text[page.text.index(f'data-job="{printed}"') :][:1500]
    assert "may have printed" in row and 'value="printed"' in row and "Print it again" in row
    done = lead.form("/printing", job=printed, action="printed")
    assert done.status_code == 200 and f"Job {printed} marked printed" in done.text
    assert job(factory, printed).status == "sent"
    refused = lead.form("/printing", job=printed, action="printed")
    assert refused.status_code == 409 and "only a label that may have printed" in refused.text
    printer = FakePrinter(port)
    try:
        retried = lead.form("/printing", job=again, action="reprint")
        assert retried.status_code == 200 and f"Job {again} is tried again now" in retried.text
        printing.dispatch(factory, printers(port), QUICK)
        assert len(printer.wait_for(1)) == 1 and job(factory, again).status == "sent"
    finally:
        printer.close()
