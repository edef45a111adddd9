"""Printers: their kinds, the label formats each prints, and the drivers that send a document
to one, raw over TCP (port 9100, what Zebra-class printers speak) or to a CUPS queue.

A driver takes plain values and returns a Delivery saying whether the printer took the job
and, if not, why; it never raises for a printer that is off, refuses, or stops reading.
Storing jobs, retrying them and choosing the printer are the service's business.
"""

from __future__ import annotations

import errno
import socket
import subprocess
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

CONNECT_TIMEOUT_S, SEND_TIMEOUT_S = 3.0, 10.0


@dataclass(frozen=True)
class Delivery:
    """What became of sending a document: the printer took all of it, or why it did not."""

    sent: bool
    error: str = ""


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


def send_tcp(host: str, port: int, document: bytes) -> Delivery:
    """Raw port 9100: sent when the printer took every byte and closed the connection cleanly."""
    try:
        with socket.create_connection((host, port), CONNECT_TIMEOUT_S) as sock:
            sock.settimeout(SEND_TIMEOUT_S)
            sock.sendall(document)
            sock.shutdown(socket.SHUT_WR)
            # A printer that took the job closes its side; a reset here means it did not.
            while sock.recv(4096):
                pass
    except OSError as exc:
        return Delivery(False, _why(exc, f"at {host}:{port}"))
    return Delivery(True)


def send_cups(queue: str, document: bytes) -> Delivery:
    """A CUPS queue through lp; raw, so ZPL reaches the printer as it is."""
    try:
        done = subprocess.run(
            ["lp", "-d", queue, "-o", "raw"],
            input=document, capture_output=True, timeout=SEND_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return Delivery(False, f"The print queue {queue} did not take the label in time.")
    except OSError:
        return Delivery(False, "CUPS (the lp command) is not installed on the server.")
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().removeprefix("lp: ")
        return Delivery(False, f"The print queue {queue} refused the label: {said}")
    return Delivery(True)
