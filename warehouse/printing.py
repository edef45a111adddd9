"""Print jobs: stored before they are sent, sent to the station's printer, retried with
backoff while the printer is off or refuses, reprinted on demand. No label is lost.

A job is claimed for sending by a conditional UPDATE (queued -> sending, with a lease), so
of the service's workers only one sends it. A raw port-9100 printer gives no receipt: a
job counts as sent when the printer took every byte and closed the connection cleanly; a
sender that dies between that and marking the job sent leaves the lease to run out, and the
job is sent again (the one case a label can print twice).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, event, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from labels.printers import PRINTS, Delivery, LabelFormat, PrinterKind, send_cups, send_tcp
from warehouse.config import PrinterConfig
from warehouse.db import rows_changed, writing
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.models import PrintJob, PrintJobStatus, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)
FIRST_RETRY_S, LAST_RETRY_S = 1.0, 60.0


# Set when a transaction of this process that stored a job commits, so its dispatcher sends
# the job now rather than at its next poll: the label is out while the carton is taped.
_wake = threading.Event()


def queue_job(
    session: Session,
    printers: dict[str, PrinterConfig],
    printer: str,
    format: str,
    document: bytes,
    title: str,
) -> PrintJob:
    """Store a job for a printer of config.toml; it is sent after the transaction commits."""
    if printer not in printers:
        raise InvalidInput(f"No printer is named {printer!r} in config.toml.", field="printer")
    if format not in tuple(LabelFormat):
        raise InvalidInput(
            f"A print job is {' or '.join(LabelFormat)}, not {format}.", field="format"
        )
    if not document:
        raise InvalidInput("The document is empty.", field="document")
    job = PrintJob(
        printer=printer, format=format, document=document, title=title[:200],
        status=PrintJobStatus.QUEUED, attempts=0, next_try_at=utcnow(), last_error="",
    )  # fmt: skip
    return _store(session, job)


def _store(session: Session, job: PrintJob) -> PrintJob:
    """Add a job; once the transaction commits, this process's dispatcher sends it."""
    session.add(job)
    session.flush()
    _wake_once_committed(session)
    return job


def _wake_once_committed(session: Session) -> None:
    """Have this process's dispatcher send the session's new jobs once its transaction commits."""
    if not event.contains(session, "after_commit", _wake_after_commit):
        event.listen(session, "after_commit", _wake_after_commit)


def _wake_after_commit(session: Session) -> None:
    # Releasing a savepoint (a scan's work is done in one) counts as a commit too; woken
    # then, the dispatcher would look before the job is committed, and sleep past it.
    if not session.in_nested_transaction():
        _wake.set()


def not_printed() -> ColumnElement[bool]:
    """A job the printer has not taken: still waiting, with the printer's last error."""
    return (PrintJob.status == PrintJobStatus.QUEUED) & (PrintJob.last_error != "")


def did_not_print(job: PrintJob) -> bool:
    """not_printed, for a job already read."""
    return job.status == PrintJobStatus.QUEUED and bool(job.last_error)


def get_job(session: Session, job_id: int) -> PrintJob:
    """A print job, read afresh, or NotFound."""
    job = session.get(PrintJob, job_id, populate_existing=True) if 1 <= job_id < 2**31 else None
    if job is None:
        raise NotFound(f"No print job has id {job_id}.", code="unknown_print_job")
    return job


def reprint(session: Session, job_id: int) -> PrintJob:
    """The same document again, as a new job; a job not sent yet is not doubled (two labels
    with one SSCC would print): it is tried again at once instead."""
    old = get_job(session, job_id)
    if old.status in (PrintJobStatus.QUEUED, PrintJobStatus.SENDING):
        rows_changed(
            session,
            update(PrintJob)
            .where(PrintJob.id == old.id, PrintJob.status == PrintJobStatus.QUEUED)
            .values(next_try_at=utcnow()),
        )
        _wake_once_committed(session)
        return get_job(session, old.id)
    job = PrintJob(
        printer=old.printer, format=old.format, document=old.document,
        title=f"reprint: {old.title}"[:200], status=PrintJobStatus.QUEUED, attempts=0,
        next_try_at=utcnow(), last_error="", reprint_of=old.id,
    )  # fmt: skip
    return _store(session, job)


def cancel(session: Session, job_id: int) -> PrintJob:
    """A supervisor calls off a job not sent yet; one being sent or sent is refused."""
    job = get_job(session, job_id)
    if not rows_changed(
        session,
        update(PrintJob)
        .where(PrintJob.id == job.id, PrintJob.status == PrintJobStatus.QUEUED)
        .values(status=PrintJobStatus.CANCELLED, lease_until=None),
    ):
        raise Conflict(_not_waiting(job), code="print_job_not_waiting")
    return get_job(session, job.id)


def reroute(
    session: Session, job_id: int, printer: str, printers: dict[str, PrinterConfig]
) -> PrintJob:
    """Send a job not sent yet to another printer of config.toml that prints its format; it
    is tried there at once, its count of tries started again."""
    job = get_job(session, job_id)
    target = printers.get(printer)
    if target is None:
        raise InvalidInput(f"No printer is named {printer!r} in config.toml.", field="printer")
    if job.format not in PRINTS[target.kind]:
        raise InvalidInput(
            f"The printer {printer} cannot print this {job.format.upper()} document.",
            field="printer",
            code="wrong_format",
        )
    if not rows_changed(
        session,
        update(PrintJob)
        .where(PrintJob.id == job.id, PrintJob.status == PrintJobStatus.QUEUED)
        .values(printer=printer, attempts=0, last_error="", next_try_at=utcnow()),
    ):
        raise Conflict(_not_waiting(job), code="print_job_not_waiting")
    _wake_once_committed(session)
    return get_job(session, job.id)


def _not_waiting(job: PrintJob) -> str:
    fresh = {
        PrintJobStatus.SENDING: "is being sent to the printer right now",
        PrintJobStatus.SENT: "has printed already: reprint it instead",
    }
    return f"Job {job.id} {fresh.get(job.status, f'is {job.status}')}."


def replace(session: Session, job_id: int) -> bool:
    """A job not sent yet will not be: another document took its place. False when it is
    being sent, or was."""
    replaced = rows_changed(
        session,
        update(PrintJob)
        .where(PrintJob.id == job_id, PrintJob.status == PrintJobStatus.QUEUED)
        .values(status=PrintJobStatus.REPLACED, lease_until=None),
    )
    return replaced == 1


def claim(session: Session, job_id: int, now: datetime) -> bool:
    """Take a due job for sending; False when it is not due or another sender has it."""
    return (
        rows_changed(
            session,
            update(PrintJob)
            .where(
                PrintJob.id == job_id,
                or_(
                    (PrintJob.status == PrintJobStatus.QUEUED) & (PrintJob.next_try_at <= now),
                    (PrintJob.status == PrintJobStatus.SENDING) & (PrintJob.lease_until < now),
                ),
            )
            .values(
                status=PrintJobStatus.SENDING,
                lease_until=now + LEASE,
                attempts=PrintJob.attempts + 1,
            ),
        )
        > 0
    )


def due_jobs(
    session: Session, now: datetime, printers: Collection[str], limit: int = 20
) -> list[int]:
    """Jobs for these printers waiting to be sent (or whose sender's lease ran out), oldest
    first. Asking only for printers a dispatcher sends to keeps jobs it leaves alone (a
    browser printer's, waiting for the handheld) from filling the batch."""
    rows = session.scalars(
        select(PrintJob.id)
        .where(
            PrintJob.printer.in_(list(printers)),
            or_(
                (PrintJob.status == PrintJobStatus.QUEUED) & (PrintJob.next_try_at <= now),
                (PrintJob.status == PrintJobStatus.SENDING) & (PrintJob.lease_until < now),
            ),
        )
        .order_by(PrintJob.id)
        .limit(limit)
    )
    return list(rows)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... seconds after each failed try, at most a minute: retried until it prints."""
    return timedelta(seconds=min(LAST_RETRY_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1)))


def deliver(printer: PrinterConfig | None, document: bytes) -> Delivery:
    """Send a document to a printer of config.toml by its kind's driver."""
    if printer is None or printer.kind == PrinterKind.BROWSER:
        return Delivery(False, "no printer to send to in config.toml")
    if printer.kind == PrinterKind.TCP:
        return send_tcp(printer.host, printer.port, document)
    return send_cups(printer.queue, document)


def send_job(
    factory: sessionmaker[Session], printers: dict[str, PrinterConfig], job_id: int
) -> bool:
    """Claim a job, send it, and record what happened; True when it was sent now."""
    with writing(factory) as session:
        if not claim(session, job_id, utcnow()):
            return False
        job = session.get(PrintJob, job_id)
        assert job is not None
        printer, document, attempts = printers.get(job.printer), job.document, job.attempts
    delivery = deliver(printer, document)
    with writing(factory) as session:
        if not delivery.sent:
            session.execute(
                update(PrintJob)
                .where(PrintJob.id == job_id, PrintJob.status == PrintJobStatus.SENDING)
                .values(
                    status=PrintJobStatus.QUEUED,
                    lease_until=None,
                    last_error=delivery.error[:300],
                    next_try_at=utcnow() + backoff(attempts),
                )
            )
            return False
        session.execute(
            update(PrintJob)
            .where(PrintJob.id == job_id)
            .values(status=PrintJobStatus.SENT, sent_at=utcnow(), lease_until=None, last_error="")
        )
    return True


def fetched_by_browser(session: Session, job_id: int) -> PrintJob:
    """A browser printer's job, opened on the handheld: it is sent."""
    job = get_job(session, job_id)
    job.status, job.sent_at, job.attempts = PrintJobStatus.SENT, utcnow(), job.attempts + 1
    session.flush()
    return job


def dispatch(factory: sessionmaker[Session], printers: dict[str, PrinterConfig]) -> int:
    """One pass over the due jobs; returns how many were sent."""
    # Browser printers' jobs wait for the handheld to open them.
    sendable = [name for name, printer in printers.items() if printer.kind != PrinterKind.BROWSER]
    with factory() as session:
        due = due_jobs(session, utcnow(), sendable)
    return sum(send_job(factory, printers, job_id) for job_id in due)


def run_dispatcher(
    factory: sessionmaker[Session],
    printers: dict[str, PrinterConfig],
    stop: threading.Event,
    every_s: float = 0.5,
) -> None:
    """Send due jobs until stopped: at once when woken, else every `every_s` (jobs other
    processes stored, and failed ones after their backoff)."""
    while not stop.is_set():
        _wake.clear()
        try:
            dispatch(factory, printers)
        except Exception:  # a bad pass (database busy, say) must not end the printing thread
            log.exception("print dispatch failed; trying again")
        _wake.wait(every_s)


def recent_jobs(session: Session, limit: int = 100) -> list[PrintJob]:
    """Jobs waiting to be sent (oldest first), then the latest done with (sent, replaced,
    cancelled)."""
    waiting = session.scalars(
        select(PrintJob)
        .where(PrintJob.status.in_((PrintJobStatus.QUEUED, PrintJobStatus.SENDING)))
        .order_by(PrintJob.id)
    ).all()
    sent = session.scalars(
        select(PrintJob)
        .where(PrintJob.status.not_in((PrintJobStatus.QUEUED, PrintJobStatus.SENDING)))
        .order_by(PrintJob.id.desc())
        .limit(max(limit - len(waiting), 0))
    ).all()
    return [*waiting, *sent]
