"""Printers: their kinds, the label formats each prints, and the drivers that send a document
to one, raw over TCP (port 9100, what Zebra-class printers speak) or to a CUPS queue.

A driver takes plain values and returns a Delivery saying whether the printer took the job
and, if not, why, and whether the label may have printed all the same; it never raises for a
printer that is off, refuses, or stops reading. Each send has an overall deadline, so a
printer that takes the bytes and never finishes cannot hold a sender for ever. Storing jobs,
retrying them and choosing the printer are the service's business.
"""

from __future__ import annotations

import errno
import socket
import subprocess
import time
from dataclasses import dataclass
from enum import StrEnum


class LabelFormat(StrEnum):
    ZPL = "zpl"
    PDF = "pdf"


class PrinterKind(StrEnum):
    # Raw port 9100: ZPL as it is.
    TCP = "tcp"
    # A CUPS queue through lp.
    CUPS = "cups"
    # The handheld's browser opens the PDF and prints it (the service sends nothing).
    BROWSER = "browser"


# The label formats each kind of printer prints: a raw port-9100 printer takes ZPL, a
# handheld's browser opens PDFs, and a CUPS queue takes either.
PRINTS: dict[PrinterKind, tuple[LabelFormat, ...]] = {
    PrinterKind.TCP: (LabelFormat.ZPL,),
    PrinterKind.BROWSER: (LabelFormat.PDF,),
    PrinterKind.CUPS: (LabelFormat.ZPL, LabelFormat.PDF),
}

CONNECT_TIMEOUT_S, DEADLINE_S = 3.0, 30.0
# What to do about a label that may have printed, said after what happened.
_LOOK = "it may have printed. Look at the printer before printing it again."


@dataclass(frozen=True)
class Delivery:
    """What became of sending a document: the printer took all of it, or why it did not; and
    when it did not, whether the label may have printed all the same (part or all of it went
    out, but the printer did not finish cleanly), so it must not be sent again unasked."""

    sent: bool
    error: str = ""
    may_have_printed: bool = False


def label_format_for(kind: PrinterKind) -> LabelFormat:
    """The format the warehouse's own labels are made in for a kind of printer."""
    return PRINTS[kind][0]


def _why(exc: OSError, printer: str) -> str:
    """Why a printer did not take a job, in words a packer can act on."""
    if isinstance(exc, ConnectionRefusedError):
        return f"The printer {printer} refused the connection: is it switched on and online?"
    if isinstance(exc, TimeoutError):
        return f"The printer {printer} did not answer in time: is it switched on, with paper?"
    if isinstance(exc, ConnectionError) or exc.errno == errno.ENOTCONN:
        return f"The printer {printer} cut the connection in the middle of the label."
    if isinstance(exc, socket.gaierror):
        return f"The printer's name in {printer} is not known on the network."
    return f"The printer {printer} cannot be reached over the network."


def printable_from(document: bytes) -> int:
    """How many bytes of a ZPL document a printer must have before anything can print: up to
    the end of its first whole format (^XZ, or ETX, which stands for it), or its first ~
    command, which acts at once."""
    ends = [at + 3 for at in (document.upper().find(b"^XZ"),) if at >= 0]
    ends += [at + 1 for at in (document.find(b"~"), document.find(b"\x03")) if at >= 0]
    # No format end at all: any byte out may have done something.
    return min(ends) if ends else 0


def _time_left(until: float) -> float:
    left = until - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline")
    return left


def _unsure(exc: OSError, printer: str, whole: bool, deadline_s: float) -> str:
    """What happened to a label that went out, in part or whole, without a clean finish."""
    if isinstance(exc, TimeoutError):
        took = "took the label" if whole else "stopped taking the label part way"
        return f"The printer {printer} {took} but did not finish within {deadline_s:g} s: {_LOOK}"
    return f"The printer {printer} cut the connection once the label had gone out: {_LOOK}"


def send_tcp(host: str, port: int, document: bytes, deadline_s: float = DEADLINE_S) -> Delivery:
    """Raw port 9100: sent when the printer took every byte and closed the connection cleanly
    within `deadline_s`. A failure before a whole format went out printed nothing; one after
    may have printed."""
    until, printer = time.monotonic() + deadline_s, f"at {host}:{port}"
    try:
        sock = socket.create_connection((host, port), min(CONNECT_TIMEOUT_S, deadline_s))
    except OSError as exc:
        return Delivery(False, _why(exc, printer))
    handed, view = 0, memoryview(document)
    with sock:
        try:
            while handed < len(document):
                sock.settimeout(_time_left(until))
                handed += sock.send(view[handed:])
            sock.shutdown(socket.SHUT_WR)
            # A printer that took the job closes its side; a reset here means it did not.
            while True:
                sock.settimeout(_time_left(until))
                if not sock.recv(4096):
                    break
        except OSError as exc:
            # The bytes handed to the network are all the printer can have had.
            if handed < printable_from(document):
                return Delivery(False, _why(exc, printer))
            whole = handed == len(document)
            return Delivery(False, _unsure(exc, printer, whole, deadline_s), may_have_printed=True)
    return Delivery(True)


def send_cups(queue: str, document: bytes, deadline_s: float = DEADLINE_S) -> Delivery:
    """A CUPS queue through lp; raw, so ZPL reaches the printer as it is."""
    try:
        done = subprocess.run(
            ["lp", "-d", queue, "-o", "raw"],
            input=document, capture_output=True, timeout=deadline_s, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        # lp may have queued the job before it hung.
        return Delivery(
            False,
            f"The print queue {queue} did not answer within {deadline_s:g} s: {_LOOK}",
            may_have_printed=True,
        )
    except OSError:
        return Delivery(False, "CUPS (the lp command) is not installed on the server.")
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().removeprefix("lp: ")
        return Delivery(False, f"The print queue {queue} refused the label: {said}")
    return Delivery(True)
