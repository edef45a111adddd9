"""The printer drivers: a document sent raw over TCP or through lp, and why it was not taken,
said so that a packer knows what to do (never an errno or a library's wording)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from labels.printers import Delivery, printable_from, send_cups, send_tcp
from tests.conftest import free_port
from tests.printer import FakePrinter

ERRNO_OR_REPR = ("Errno", "errno", "[", "Error", "Traceback")


def said_for_a_person(delivery: Delivery) -> str:
    assert not delivery.sent
    assert delivery.error.endswith((".", "?")), delivery.error
    assert not any(word in delivery.error for word in ERRNO_OR_REPR), delivery.error
    return delivery.error


def test_a_printer_that_takes_the_label_is_sent() -> None:
    port = free_port()
    printer = FakePrinter(port)
    try:
        assert send_tcp("127.0.0.1", port, b"^XA^XZ") == Delivery(True)
        assert printer.wait_for(1) == [b"^XA^XZ"]
    finally:
        printer.close()


def test_a_printer_that_is_off_refuses_the_connection() -> None:
    delivery = send_tcp("127.0.0.1", free_port(), b"^XA^XZ")
    said = said_for_a_person(delivery)
    assert "refused the connection" in said and "switched on" in said
    assert not delivery.may_have_printed


@pytest.mark.parametrize(
    "misbehaving", [{"hold_open": True}, {"trickle_s": 0.2}], ids=["never-closes", "trickles"]
)
def test_a_printer_that_does_not_finish_is_given_up_at_the_deadline(
    misbehaving: dict[str, object],
) -> None:
    port = free_port()
    with FakePrinter(port, **misbehaving):  # type: ignore[arg-type]
        started = time.monotonic()
        delivery = send_tcp("127.0.0.1", port, b"^XA^FO50,50^FDa label^FS^XZ", deadline_s=0.5)
        assert time.monotonic() - started < 1.5
    said = said_for_a_person(delivery)
    assert delivery.may_have_printed and "within 0.5 s" in said and "may have printed" in said


@pytest.mark.parametrize(
    ("document", "printable"),
    [
        (b"^XA^FDa^FS^XZ", 13),
        (b"^XA^FDa^FS^xz^XA^FDb^FS^XZ", 13),
        (b"^XA^FDa^FS\x03", 11),
        (b"^XA^FDa~JR^FS^XZ", 8),
        (b"no format at all", 0),
    ],
)
def test_what_a_printer_needs_before_anything_can_print(document: bytes, printable: int) -> None:
    assert printable_from(document) == printable


def test_a_printer_name_the_network_does_not_know() -> None:
    said = said_for_a_person(send_tcp("no-such-printer.invalid", 9100, b"^XA^XZ"))
    assert "not known on the network" in said


@pytest.fixture
def resetting() -> Iterator[int]:
    """A printer that reads the first bytes and then resets the connection."""
    server = socket.socket()
    # A small window, inherited by the connection: the label cannot all be in flight.
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def serve() -> None:
        connection, _ = server.accept()
        connection.recv(10)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    thread.join(timeout=5)
    server.close()


def test_a_printer_that_cuts_the_connection_mid_label(resetting: int) -> None:
    # Cut before the label's ^XZ went out: nothing can have printed, so it may be sent again.
    delivery = send_tcp("127.0.0.1", resetting, b"^XA" + b"x" * 16_000_000 + b"^XZ")
    assert "cut the connection in the middle of the label" in said_for_a_person(delivery)
    assert not delivery.may_have_printed


def test_a_cups_queue_that_cannot_take_the_label() -> None:
    said = said_for_a_person(send_cups("no-such-queue", b"^XA^XZ"))
    assert "no-such-queue" in said or "CUPS" in said
