"""Print jobs: stored before they are sent, sent to the station's printer, retried with
backoff while the printer is off or refuses, reprinted on demand. No label is lost, and none
prints twice unasked.

A job is claimed for sending by a conditional UPDATE (queued -> sending, with a lease), so
of the service's workers and servers only one sends it. The lease is renewed while the send
is alive; only a queued job is ever claimed, so no dispatcher takes a job whose send may
still be running. A raw port-9100 printer gives no receipt: a job counts as sent when the
printer took every byte and closed the connection cleanly within the send's deadline. A job
that may have reached the printer without that (the label went out, in part or whole, and
the printer did not finish, or cut the connection; or its sender stopped renewing the lease,
having died mid-send) is "uncertain": never sent again by itself, it waits for a person to
say it printed, or to print it again. Only a failure before anything printable went out (the
printer is off, refuses, or cut the connection early) is retried by itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from labels.printers import PRINTS, Delivery, LabelFormat, PrinterKind, send_cups, send_tcp
from warehouse.config import PrinterConfig, PrintingConfig
from warehouse.db import rows_changed, writing
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.limits import check_id
from warehouse.models import PrintJob, PrintJobStatus, utcnow

log = logging.getLogger(__name__)

FIRST_RETRY_S, LAST_RETRY_S = 1.0, 60.0
DEFAULT_TIMING = PrintingConfig()


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


# What a job whose sender stopped renewing its lease says.
LAPSED = (
    "The server sending this label stopped part way: it may have printed. Look at the "
    "printer before printing it again."
)
# Jobs a person may still act on: waiting to be sent, or to be told whether they printed.
OPEN_STATUSES = (PrintJobStatus.QUEUED, PrintJobStatus.UNCERTAIN)


def not_printed() -> ColumnElement[bool]:
    """A job the printer has not taken: still waiting, with the printer's last error, or one
    that may have printed and waits for a person's word."""
    return ((PrintJob.status == PrintJobStatus.QUEUED) & (PrintJob.last_error != "")) | (
        PrintJob.status == PrintJobStatus.UNCERTAIN
    )


def did_not_print(job: PrintJob) -> bool:
    """not_printed, for a job already read."""
    return (
        job.status == PrintJobStatus.QUEUED and bool(job.last_error)
    ) or job.status == PrintJobStatus.UNCERTAIN


def get_job(session: Session, job_id: int) -> PrintJob:
    """A print job, read afresh, or NotFound."""
    job = session.get(PrintJob, job_id, populate_existing=True) if check_id(job_id) else None
    if job is None:
        raise NotFound(f"No print job has id {job_id}.", code="unknown_print_job")
    return job


def reprint(session: Session, job_id: int) -> PrintJob:
    """The same document again, as a new job; a job not sent yet is not doubled (two labels
    with one SSCC would print): it is tried again at once instead. For a job that may have
    printed, this is the person's word that it did not: it is sent again."""
    old = get_job(session, job_id)
    if old.status in (PrintJobStatus.QUEUED, PrintJobStatus.SENDING, PrintJobStatus.UNCERTAIN):
        rows_changed(
            session,
            update(PrintJob)
            .where(PrintJob.id == old.id, PrintJob.status.in_(OPEN_STATUSES))
            .values(
                status=PrintJobStatus.QUEUED,
                next_try_at=utcnow(),
                # A doubt settled is no failure: the job counts as failing only if it does
                # not print this time either.
                last_error=case(
                    (PrintJob.status == PrintJobStatus.UNCERTAIN, ""), else_=PrintJob.last_error
                ),
            ),
        )
        _wake_once_committed(session)
        return get_job(session, old.id)
    job = PrintJob(
        printer=old.printer, format=old.format, document=old.document,
        title=f"reprint: {old.title}"[:200], status=PrintJobStatus.QUEUED, attempts=0,
        next_try_at=utcnow(), last_error="", reprint_of=old.id,
    )  # fmt: skip
    return _store(session, job)


def mark_printed(session: Session, job_id: int) -> PrintJob:
    """A person's word that a job which may have printed did print: it is sent, and never
    sent again. Any other job is refused."""
    job = get_job(session, job_id)
    if not rows_changed(
        session,
        update(PrintJob)
        .where(PrintJob.id == job.id, PrintJob.status == PrintJobStatus.UNCERTAIN)
        .values(status=PrintJobStatus.SENT, sent_at=utcnow(), last_error="", lease_until=None),
    ):
        raise Conflict(
            f"Job {job.id} {_state_of(job)}: only a label that may have printed is marked "
            "printed by hand.",
            code="print_job_not_uncertain",
        )
    return get_job(session, job.id)


def cancel(session: Session, job_id: int) -> PrintJob:
    """A supervisor calls off a job not sent yet (or one that may have printed); one being
    sent or sent is refused."""
    job = get_job(session, job_id)
    if not rows_changed(
        session,
        update(PrintJob)
        .where(PrintJob.id == job.id, PrintJob.status.in_(OPEN_STATUSES))
        .values(status=PrintJobStatus.CANCELLED, lease_until=None),
    ):
        raise Conflict(_not_waiting(job), code="print_job_not_waiting")
    return get_job(session, job.id)


def reroute(
    session: Session, job_id: int, printer: str, printers: dict[str, PrinterConfig]
) -> PrintJob:
    """Send a job not sent yet (or one that may have printed) to another printer of
    config.toml that prints its format; it is tried there at once, its count of tries
    started again."""
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
        .where(PrintJob.id == job.id, PrintJob.status.in_(OPEN_STATUSES))
        .values(
            status=PrintJobStatus.QUEUED,
            printer=printer,
            attempts=0,
            last_error="",
            next_try_at=utcnow(),
        ),
    ):
        raise Conflict(_not_waiting(job), code="print_job_not_waiting")
    _wake_once_committed(session)
    return get_job(session, job.id)


def _state_of(job: PrintJob) -> str:
    return {
        PrintJobStatus.QUEUED: "is waiting to be sent",
        PrintJobStatus.SENDING: "is being sent to the printer right now",
        PrintJobStatus.SENT: "has printed already",
        PrintJobStatus.UNCERTAIN: "may have printed",
    }.get(job.status, f"is {job.status}")


def _not_waiting(job: PrintJob) -> str:
    if job.status == PrintJobStatus.SENT:
        return f"Job {job.id} has printed already: reprint it instead."
    return f"Job {job.id} {_state_of(job)}."


def replace(session: Session, job_id: int) -> bool:
    """A job not sent yet (or that may have printed) will not be sent: another document took
    its place. False when it is being sent, or was."""
    replaced = rows_changed(
        session,
        update(PrintJob)
        .where(PrintJob.id == job_id, PrintJob.status.in_(OPEN_STATUSES))
        .values(status=PrintJobStatus.REPLACED, lease_until=None),
    )
    return replaced == 1


def claim(session: Session, job_id: int, now: datetime, lease: timedelta) -> int | None:
    """Take a queued, due job for sending; its try number, which names this claim, or None
    when it is not due or another sender has it. A job being sent is never taken: its send
    may still be running."""
    return session.execute(
        update(PrintJob)
        .where(
            PrintJob.id == job_id,
            PrintJob.status == PrintJobStatus.QUEUED,
            PrintJob.next_try_at <= now,
        )
        .values(
            status=PrintJobStatus.SENDING,
            lease_until=now + lease,
            attempts=PrintJob.attempts + 1,
        )
        .returning(PrintJob.attempts),
        execution_options={"synchronize_session": False},
    ).scalar_one_or_none()


def _claimed(job_id: int, attempt: int) -> ColumnElement[bool]:
    """The job, still in the hands of the claim that made try `attempt`."""
    return (PrintJob.id == job_id) & (PrintJob.attempts == attempt)


def _lapsed(now: datetime) -> ColumnElement[bool]:
    return (PrintJob.status == PrintJobStatus.SENDING) & (PrintJob.lease_until < now)


def hold_lapsed(session: Session, now: datetime) -> int:
    """Jobs whose sender stopped renewing its lease (it died, or hung past it) may have
    printed: they wait for a person's word, and are never sent again by themselves."""
    return rows_changed(
        session,
        update(PrintJob)
        .where(_lapsed(now))
        .values(status=PrintJobStatus.UNCERTAIN, lease_until=None, last_error=LAPSED),
    )


def due_jobs(
    session: Session, now: datetime, printers: Collection[str], limit: int = 20
) -> list[int]:
    """Queued jobs for these printers whose time has come, oldest first. Asking only for
    printers a dispatcher sends to keeps jobs it leaves alone (a browser printer's, waiting
    for the handheld) from filling the batch."""
    rows = session.scalars(
        select(PrintJob.id)
        .where(
            PrintJob.printer.in_(list(printers)),
            PrintJob.status == PrintJobStatus.QUEUED,
            PrintJob.next_try_at <= now,
        )
        .order_by(PrintJob.id)
        .limit(limit)
    )
    return list(rows)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... seconds after each failed try, at most a minute: retried until it prints."""
    return timedelta(seconds=min(LAST_RETRY_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1)))


def deliver(printer: PrinterConfig | None, document: bytes, deadline_s: float) -> Delivery:
    """Send a document to a printer of config.toml by its kind's driver, within a deadline."""
    if printer is None or printer.kind == PrinterKind.BROWSER:
        return Delivery(False, "no printer to send to in config.toml")
    if printer.kind == PrinterKind.TCP:
        return send_tcp(printer.host, printer.port, document, deadline_s)
    return send_cups(printer.queue, document, deadline_s)


@contextmanager
def _lease_kept(
    factory: sessionmaker[Session], job_id: int, attempt: int, lease: timedelta
) -> Iterator[None]:
    """Renew the claim's lease while the block runs: a send that is alive is never taken for
    a dead one."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(lease.total_seconds() / 3):
            try:
                with writing(factory) as session:
                    session.execute(
                        update(PrintJob)
                        .where(_claimed(job_id, attempt), PrintJob.status == PrintJobStatus.SENDING)
                        .values(lease_until=utcnow() + lease)
                    )
            except Exception:  # a busy database: the next renewal may get through
                log.exception("renewing the lease of print job %s failed", job_id)

    keeper = threading.Thread(target=renew, name=f"print-lease-{job_id}", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        done.set()
        keeper.join()


def _record(session: Session, job_id: int, attempt: int, delivery: Delivery) -> None:
    """What became of a send, on the job this claim still holds."""
    values: dict[str, Any] = {"lease_until": None, "last_error": delivery.error[:300]}
    if delivery.sent:
        values.update(status=PrintJobStatus.SENT, sent_at=utcnow())
    elif delivery.may_have_printed:
        values.update(status=PrintJobStatus.UNCERTAIN)
    else:
        values.update(status=PrintJobStatus.QUEUED, next_try_at=utcnow() + backoff(attempt))
    # A label the printer took counts even if the job was held meanwhile for a lapsed lease.
    held = (PrintJobStatus.SENDING, PrintJobStatus.UNCERTAIN)[: 2 if delivery.sent else 1]
    session.execute(
        update(PrintJob).where(_claimed(job_id, attempt), PrintJob.status.in_(held)).values(values)
    )


def send_job(
    factory: sessionmaker[Session],
    printers: dict[str, PrinterConfig],
    job_id: int,
    timing: PrintingConfig = DEFAULT_TIMING,
) -> bool:
    """Claim a job, send it while renewing the claim, and record what happened; True when
    it was sent now."""
    lease = timedelta(seconds=timing.lease_s)
    with writing(factory) as session:
        attempt = claim(session, job_id, utcnow(), lease)
        if attempt is None:
            return False
        job = session.get(PrintJob, job_id)
        assert job is not None
        printer, document = printers.get(job.printer), job.document
    with _lease_kept(factory, job_id, attempt, lease):
        delivery = deliver(printer, document, timing.deadline_s)
    with writing(factory) as session:
        _record(session, job_id, attempt, delivery)
    return delivery.sent


def fetched_by_browser(session: Session, job_id: int) -> PrintJob:
    """A browser printer's job, opened on the handheld: it is sent."""
    job = get_job(session, job_id)
    job.status, job.sent_at, job.attempts = PrintJobStatus.SENT, utcnow(), job.attempts + 1
    session.flush()
    return job


def dispatch(
    factory: sessionmaker[Session],
    printers: dict[str, PrinterConfig],
    timing: PrintingConfig = DEFAULT_TIMING,
) -> int:
    """One pass: jobs whose sender stopped are held for a person, then the due jobs are
    sent; returns how many were sent."""
    # Browser printers' jobs wait for the handheld to open them.
    sendable = [name for name, printer in printers.items() if printer.kind != PrinterKind.BROWSER]
    now = utcnow()
    with factory() as session:
        lapsed = session.scalar(select(PrintJob.id).where(_lapsed(now)).limit(1))
        due = due_jobs(session, now, sendable)
    if lapsed is not None:
        # Written only when there is one: on SQLite each pass would take the write lock.
        with writing(factory) as session:
            hold_lapsed(session, now)
    return sum(send_job(factory, printers, job_id, timing) for job_id in due)


def run_dispatcher(
    factory: sessionmaker[Session],
    printers: dict[str, PrinterConfig],
    stop: threading.Event,
    timing: PrintingConfig = DEFAULT_TIMING,
    every_s: float = 0.5,
) -> None:
    """Send due jobs until stopped: at once when woken, else every `every_s` (jobs other
    processes stored, and failed ones after their backoff)."""
    while not stop.is_set():
        _wake.clear()
        try:
            dispatch(factory, printers, timing)
        except Exception:  # a bad pass (database busy, say) must not end the printing thread
            log.exception("print dispatch failed; trying again")
        _wake.wait(every_s)


def recent_jobs(session: Session, limit: int = 100) -> list[PrintJob]:
    """Jobs waiting to be sent or for a person's word (oldest first), then the latest done
    with (sent, replaced, cancelled)."""
    waiting_statuses = (*OPEN_STATUSES, PrintJobStatus.SENDING)
    waiting = session.scalars(
        select(PrintJob).where(PrintJob.status.in_(waiting_statuses)).order_by(PrintJob.id)
    ).all()
    sent = session.scalars(
        select(PrintJob)
        .where(PrintJob.status.not_in(waiting_statuses))
        .order_by(PrintJob.id.desc())
        .limit(max(limit - len(waiting), 0))
    ).all()
    return [*waiting, *sent]
