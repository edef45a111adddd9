"""The station agent: key events to text, serial framing over a real pty, the on-disk outbox,
and the sender against a stub service that goes down, comes back, answers 503, 422 or late.

StubService and Agent are used by tests/api/test_agent_service.py too.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from evdev import InputEvent, ecodes
from hypothesis import given
from hypothesis import strategies as st

from scanners.read import read_scan
from station_agent import keymap
from station_agent.cli import main
from station_agent.keymap import GS, KeyTranslator, scans_from_events
from station_agent.outbox import Outbox
from station_agent.readers import LineFramer, key_scans, serial_scans
from station_agent.scale import Reading, parse_reading
from station_agent.sender import Sender
from tests.conftest import free_port

AGENT = Path(sys.executable).parent / "warehouse-agent"
KEY, MSC, SYN = 1, 4, 0  # event types: EV_KEY, EV_MSC (MSC_SCAN, the HID usage), EV_SYN

# ---------------------------------------------------------------------------------------------
# Recorded event sequences (as `evtest` shows them) of a Honeywell-style USB scanner.

# "SKU-0001" + Enter: each key is MSC_SCAN (HID usage), EV_KEY, SYN_REPORT; capitals are typed
# with Shift held around the key (left Shift for S and U, right Shift for K).
SKU_0001 = [
    (MSC, 4, 0x700E1), (KEY, 42, 1), (SYN, 0, 0),  # left Shift down
    (MSC, 4, 0x70016), (KEY, 31, 1), (SYN, 0, 0),  # s down
    (MSC, 4, 0x70016), (KEY, 31, 0), (SYN, 0, 0),  # s up
    (MSC, 4, 0x700E1), (KEY, 42, 0), (SYN, 0, 0),  # left Shift up
    (MSC, 4, 0x700E5), (KEY, 54, 1), (SYN, 0, 0),  # right Shift down
    (MSC, 4, 0x7000E), (KEY, 37, 1), (SYN, 0, 0),  # k
    (MSC, 4, 0x7000E), (KEY, 37, 0), (SYN, 0, 0),
    (MSC, 4, 0x700E5), (KEY, 54, 0), (SYN, 0, 0),
    (MSC, 4, 0x700E1), (KEY, 42, 1), (SYN, 0, 0),
    (MSC, 4, 0x70018), (KEY, 22, 1), (SYN, 0, 0),  # u
    (MSC, 4, 0x70018), (KEY, 22, 0), (SYN, 0, 0),
    (MSC, 4, 0x700E1), (KEY, 42, 0), (SYN, 0, 0),
    (MSC, 4, 0x7002D), (KEY, 12, 1), (SYN, 0, 0),  # -
    (MSC, 4, 0x7002D), (KEY, 12, 0), (SYN, 0, 0),
    (MSC, 4, 0x70027), (KEY, 11, 1), (SYN, 0, 0),  # 0
    (MSC, 4, 0x70027), (KEY, 11, 0), (SYN, 0, 0),
    (MSC, 4, 0x70027), (KEY, 11, 1), (SYN, 0, 0),  # 0
    (MSC, 4, 0x70027), (KEY, 11, 0), (SYN, 0, 0),
    (MSC, 4, 0x70027), (KEY, 11, 1), (SYN, 0, 0),  # 0
    (MSC, 4, 0x70027), (KEY, 11, 0), (SYN, 0, 0),
    (MSC, 4, 0x7001E), (KEY, 2, 1), (SYN, 0, 0),  # 1
    (MSC, 4, 0x7001E), (KEY, 2, 0), (SYN, 0, 0),
    (MSC, 4, 0x70028), (KEY, 28, 1), (SYN, 0, 0),  # Enter
    (MSC, 4, 0x70028), (KEY, 28, 0), (SYN, 0, 0),
]  # fmt: skip

# GS1-128 "(01)09506000134352(10)AB-12(17)251231": FNC1 after the variable-length lot comes as
# Ctrl+] (left Ctrl, code 27). Key events only (the MSC/SYN events are left out).
GS1_CTRL = [
    (KEY, 11, 1), (KEY, 11, 0), (KEY, 2, 1), (KEY, 2, 0),  # 01
    (KEY, 11, 1), (KEY, 11, 0), (KEY, 10, 1), (KEY, 10, 0),  # 09
    (KEY, 6, 1), (KEY, 6, 0), (KEY, 11, 1), (KEY, 11, 0),  # 50
    (KEY, 7, 1), (KEY, 7, 0), (KEY, 11, 1), (KEY, 11, 0),  # 60
    (KEY, 11, 1), (KEY, 11, 0), (KEY, 11, 1), (KEY, 11, 0),  # 00
    (KEY, 2, 1), (KEY, 2, 0), (KEY, 4, 1), (KEY, 4, 0),  # 13
    (KEY, 5, 1), (KEY, 5, 0), (KEY, 4, 1), (KEY, 4, 0),  # 43
    (KEY, 6, 1), (KEY, 6, 0), (KEY, 3, 1), (KEY, 3, 0),  # 52
    (KEY, 2, 1), (KEY, 2, 0), (KEY, 11, 1), (KEY, 11, 0),  # 10
    (KEY, 42, 1), (KEY, 30, 1), (KEY, 30, 0), (KEY, 48, 1), (KEY, 48, 0), (KEY, 42, 0),  # AB
    (KEY, 12, 1), (KEY, 12, 0), (KEY, 2, 1), (KEY, 2, 0), (KEY, 3, 1), (KEY, 3, 0),  # -12
    (KEY, 29, 1), (KEY, 27, 1), (KEY, 27, 0), (KEY, 29, 0),  # Ctrl+] = GS
    (KEY, 2, 1), (KEY, 2, 0), (KEY, 8, 1), (KEY, 8, 0),  # 17
    (KEY, 3, 1), (KEY, 3, 0), (KEY, 6, 1), (KEY, 6, 0),  # 25
    (KEY, 2, 1), (KEY, 2, 0), (KEY, 3, 1), (KEY, 3, 0),  # 12
    (KEY, 4, 1), (KEY, 4, 0), (KEY, 2, 1), (KEY, 2, 0),  # 31
    (KEY, 28, 1), (KEY, 28, 0),  # Enter
]  # fmt: skip
GS1_TEXT = "0109506000134352" + "10AB-12" + GS + "17251231"

# "10X" GS "21Y" from a scanner in Alt mode: GS is Alt + keypad 0 2 9, typed when Alt goes up.
GS1_ALT = [
    (KEY, 2, 1), (KEY, 2, 0), (KEY, 11, 1), (KEY, 11, 0),  # 10
    (KEY, 42, 1), (KEY, 45, 1), (KEY, 45, 0), (KEY, 42, 0),  # X
    (KEY, 56, 1), (KEY, 82, 1), (KEY, 82, 0), (KEY, 80, 1), (KEY, 80, 0),  # Alt, KP0, KP2
    (KEY, 73, 1), (KEY, 73, 0), (KEY, 56, 0),  # KP9, Alt up: GS
    (KEY, 3, 1), (KEY, 3, 0), (KEY, 2, 1), (KEY, 2, 0),  # 21
    (KEY, 42, 1), (KEY, 21, 1), (KEY, 21, 0), (KEY, 42, 0),  # Y
    (KEY, 96, 1), (KEY, 96, 0),  # keypad Enter
]  # fmt: skip


def tap(code: int, *, shift: bool = False) -> list[tuple[int, int, int]]:
    """The key events of one key press, with left Shift held around it if `shift`."""
    events = [(KEY, code, 1), (KEY, code, 0)]
    return [(KEY, 42, 1), *events, (KEY, 42, 0)] if shift else events


ENTER, TAB = tap(28), tap(15)


@pytest.mark.parametrize(
    ("events", "end_key", "scans"),
    [
        (SKU_0001, "enter", ["SKU-0001"]),
        (GS1_CTRL, "enter", [GS1_TEXT]),
        (GS1_ALT, "enter", ["10X" + GS + "21Y"]),
        (SKU_0001 + GS1_CTRL, "enter", ["SKU-0001", GS1_TEXT]),
        # Lower case after Shift goes up; right Shift works like left.
        (tap(30, shift=True) + tap(30) + [(KEY, 54, 1), *tap(48), (KEY, 54, 0)] + ENTER,
         "enter", ["AaB"]),
        # Symbols, shifted and not.
        (tap(2, shift=True) + tap(3, shift=True) + tap(26) + tap(39) + tap(40) + tap(53)
         + tap(52, shift=True) + tap(43, shift=True) + tap(57) + ENTER,
         "enter", ["!@[;'/>| "]),
        # Keypad digits and keypad Enter.
        (tap(79) + tap(80) + tap(81) + tap(82) + tap(74) + tap(96), "enter", ["1230-"]),
        # Tab ends the scan when the scanner is set to send Tab; Enter then is not a character.
        (tap(20, shift=True) + tap(2) + TAB, "tab", ["T1"]),
        (tap(20, shift=True) + ENTER + tap(2) + TAB, "tab", ["T1"]),
        # Autorepeat (value 2) and key-up events type nothing.
        ([(KEY, 30, 1), (KEY, 30, 2), (KEY, 30, 2), (KEY, 30, 0), *ENTER], "enter", ["a"]),
        # Unknown keys (F1, Meta, CapsLock) and Ctrl with another key are dropped.
        (tap(30) + tap(59) + tap(125) + tap(58) + [(KEY, 29, 1), *tap(46), (KEY, 29, 0)]
         + tap(48) + ENTER, "enter", ["ab"]),
        # An Enter with nothing before it is no scan.
        (ENTER + ENTER + tap(2) + ENTER, "enter", ["1"]),
        # A scan not ended yet is not a scan.
        (tap(2) + tap(3), "enter", []),
    ],
)  # fmt: skip
def test_key_events_become_scans(
    events: list[tuple[int, int, int]], end_key: str, scans: list[str]
) -> None:
    assert list(scans_from_events(events, end_key)) == scans


def test_a_recorded_gs1_scan_reads_as_gs1_data() -> None:
    (text,) = scans_from_events(GS1_CTRL)
    scan = read_scan(text)
    assert scan.kind == "gs1"
    assert scan.gs1 is not None
    assert (scan.gtin, scan.gs1.lot) == ("09506000134352", "AB-12")


def test_dropped_keys_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="station_agent.keymap"):
        assert list(scans_from_events(tap(30) + tap(59) + ENTER)) == ["a"]
    assert "Dropped key code 59" in caplog.text


def test_an_unknown_end_key_is_refused() -> None:
    with pytest.raises(ValueError, match="enter, tab"):
        KeyTranslator("space")


def test_the_kernel_key_codes_match_evdev() -> None:
    for name in ("TAB", "RIGHTBRACE", "ENTER", "LEFTCTRL", "LEFTSHIFT", "RIGHTSHIFT", "LEFTALT",
                 "KPENTER", "RIGHTCTRL", "RIGHTALT"):  # fmt: skip
        assert getattr(keymap, f"KEY_{name}") == getattr(ecodes, f"KEY_{name}"), name


# A US keyboard written out from evdev's key names, apart from keymap.py's rows of codes.
_SYMBOL_KEYS = {"-": "MINUS", "=": "EQUAL", "[": "LEFTBRACE", "]": "RIGHTBRACE",
                ";": "SEMICOLON", "'": "APOSTROPHE", "`": "GRAVE", "\\": "BACKSLASH",
                ",": "COMMA", ".": "DOT", "/": "SLASH", " ": "SPACE"}  # fmt: skip
_SHIFTED = dict(zip('!@#$%^&*()_+{}:"~|<>?', "1234567890-=[];'`\\,./", strict=True))
US_KEYS: dict[str, tuple[str, bool]] = {
    **{c: (c.upper(), False) for c in "abcdefghijklmnopqrstuvwxyz0123456789"},
    **{c: (c, True) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **{c: (name, False) for c, name in _SYMBOL_KEYS.items()},
    **{c: (_SYMBOL_KEYS.get(base, base), True) for c, base in _SHIFTED.items()},
}


@given(
    text=st.text(alphabet=sorted(US_KEYS), min_size=1, max_size=40),
    right_shift=st.booleans(),
)
def test_every_printable_ascii_character_types_through(text: str, right_shift: bool) -> None:
    shift = ecodes.KEY_RIGHTSHIFT if right_shift else ecodes.KEY_LEFTSHIFT
    events: list[tuple[int, int, int]] = []
    for char in text:
        name, shifted = US_KEYS[char]
        code = getattr(ecodes, f"KEY_{name}")
        press = [(MSC, 4, 0x70000), (KEY, code, 1), (SYN, 0, 0), (KEY, code, 0), (SYN, 0, 0)]
        events += [(KEY, shift, 1), *press, (KEY, shift, 0)] if shifted else press
    assert list(scans_from_events(events + ENTER)) == [text]


class FakeKeyDevice:
    """An InputDevice that replays recorded events and notes its grab."""

    def __init__(self, events: list[tuple[int, int, int]]) -> None:
        self.events = events
        self.grabbed = False

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def read_loop(self) -> Iterator[InputEvent]:
        for type_, code, value in self.events:
            assert self.grabbed, "read before the grab: the scan would type into the desktop"
            yield InputEvent(0, 0, type_, code, value)


def test_the_hid_reader_grabs_the_device_and_lets_go_after() -> None:
    device = FakeKeyDevice(SKU_0001 + GS1_CTRL)
    assert list(key_scans(device)) == ["SKU-0001", GS1_TEXT]
    assert not device.grabbed


# ---------------------------------------------------------------------------------------------
# Serial scanners.


@pytest.mark.parametrize(
    ("line_end", "chunks", "scans"),
    [
        ("any", [b"A1\rB2\nC3\r\nD4\r\n"], ["A1", "B2", "C3", "D4"]),
        # A CRLF split between two reads ends one scan, not two.
        ("any", [b"A1\r", b"\nB2\r", b"\n"], ["A1", "B2"]),
        # A scan split across reads is joined; the unfinished tail waits.
        ("any", [b"SKU-", b"00", b"01\r", b"SKU-0002"], ["SKU-0001"]),
        # GS stays in the text; bytes above 127 decode as latin-1.
        ("cr", [b"0109506000134352" b"10AB\x1d17251231\r"], ["0109506000134352" "10AB" + GS + "17251231"]),
        ("cr", [b"caf\xe9\r"], ["caf\u00e9"]),
        # With LF as the end, a CR is part of the text (read_scan strips it).
        ("lf", [b"A1\r\nB2\n"], ["A1\r", "B2"]),
        ("crlf", [b"A\r1\r\nB2\n\r\n"], ["A\r1", "B2\n"]),
    ],
)  # fmt: skip
def test_serial_bytes_become_scans(line_end: str, chunks: list[bytes], scans: list[str]) -> None:
    framer = LineFramer(line_end)
    assert [scan for chunk in chunks for scan in framer.feed(chunk)] == scans


@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=6))
def test_serial_framing_does_not_depend_on_how_bytes_arrive(data: bytes, cuts: list[int]) -> None:
    whole = LineFramer().feed(data)
    framer = LineFramer()
    bounds = [0, *sorted(cuts), len(data)]
    assert [s for a, b in pairwise(bounds) for s in framer.feed(data[a:b])] == whole


def test_a_runaway_line_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    framer = LineFramer()
    assert framer.feed(b"x" * 5000) == []
    assert framer.feed(b"A1\r") == ["A1"]
    assert "check the baud rate" in caplog.text


def wait_until(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        time.sleep(0.02)


def test_the_serial_reader_reads_a_pseudo_terminal(caplog: pytest.LogCaptureFixture) -> None:
    master, slave = os.openpty()
    stop = threading.Event()
    got: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for scan in serial_scans(os.ttyname(slave), 9600, "any", stop):
            got.put(scan)

    caplog.set_level(logging.INFO, logger="station_agent.readers")
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # pyserial empties the input when it opens the port, so write only once it is open.
        wait_until(lambda: "Reading scans from" in caplog.text, what="the port to open")
        os.write(master, b"SKU-0001\r\n0109506000134352")
        time.sleep(0.3)  # the rest of the scan comes in a later read
        os.write(master, b"10AB\x1d17251231\rT00042\n")
        scans = [got.get(timeout=5) for _ in range(3)]
    finally:
        stop.set()
        reader.join(timeout=5)
        os.close(master)
        os.close(slave)
    assert scans == ["SKU-0001", "010950600013435210AB" + GS + "17251231", "T00042"]


# ---------------------------------------------------------------------------------------------
# The outbox.


def test_the_outbox_keeps_order_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "agent" / "outbox.sqlite3"
    outbox = Outbox(path)
    added = [outbox.add(f"SKU-{n}") for n in range(5)]
    assert [scan.code for scan in outbox.pending()] == [f"SKU-{n}" for n in range(5)]
    assert len({scan.scan_id for scan in added}) == 5
    assert all(len(scan.scan_id) == 32 and int(scan.scan_id, 16) >= 0 for scan in added)
    outbox.mark_sent(added[0].scan_id)
    outbox.close()

    outbox = Outbox(path)
    assert outbox.pending() == added[1:]
    for scan in added[1:]:
        outbox.mark_sent(scan.scan_id)
    # A scan read after the outbox ran empty still comes after every earlier one.
    later = outbox.add("SKU-5")
    assert later.seq > added[-1].seq
    assert outbox.pending() == [later]


def test_a_scan_is_on_disk_when_add_returns(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    # A process that adds scans and dies at once, closing nothing.
    program = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from station_agent.outbox import Outbox\n"
        "outbox = Outbox(Path(sys.argv[1]))\n"
        "print(','.join(outbox.add(c).scan_id for c in ('A1', 'B2', 'C3')), flush=True)\n"
        "os._exit(9)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(path)], capture_output=True, text=True
    )
    assert done.returncode == 9, done.stderr
    ids = done.stdout.strip().split(",")
    assert [(s.scan_id, s.code) for s in Outbox(path).pending()] == list(
        zip(ids, ["A1", "B2", "C3"], strict=True)
    )


# ---------------------------------------------------------------------------------------------
# The sender, against a stub of the service.


class StubService:
    """A stand-in for POST /api/barcodes/resolve on a fixed port, which can stop and start.

    Like the service it logs a scan_id once and answers a repeat the same; it refuses (422)
    codes that start with BAD. `statuses` are answers to give first, logging nothing; a code
    in `late` is logged and then answered after `late_by` seconds, once.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.requests: list[dict[str, Any]] = []
        self.logged: dict[str, str] = {}  # scan_id -> code, in the order first seen
        self.statuses: list[int] = []
        self.late: set[str] = set()
        self.late_by = 1.0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                stub._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        body = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
        with self.lock:
            self.requests.append(
                {**body, "path": handler.path, "auth": handler.headers["Authorization"]}
            )
            status = self.statuses.pop(0) if self.statuses else None
            late = False
            if status is None:
                self.logged.setdefault(body["scan_id"], body["code"])
                status = 422 if body["code"].startswith("BAD") else 200
                late = body["code"] in self.late
                self.late.discard(body["code"])
        if late:
            time.sleep(self.late_by)
        reply: dict[str, Any] = {"kind": "text", "text": body["code"]}
        if status != 200:
            reply = {"error": {"code": f"status_{status}", "message": "Refused by the stub."}}
        data = json.dumps(reply).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the agent gave up waiting: it sends the scan again


@pytest.fixture
def stub() -> Iterator[StubService]:
    service = StubService()
    yield service
    service.stop()


def fast_sender(outbox: Outbox, url: str, **kwargs: Any) -> Sender:
    options = {"timeout": 2.0, "first_delay": 0.02, "max_delay": 0.2, "auth_delay": 0.5}
    return Sender(outbox, url, "tok-123", "pack-1", **{**options, **kwargs})


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[[Sender], None]]:
    """Runs senders in threads; stops them after the test."""
    stop = threading.Event()
    threads = []

    def run(sender: Sender) -> None:
        thread = threading.Thread(target=sender.run, args=(stop,), daemon=True)
        thread.start()
        threads.append(thread)

    yield run
    stop.set()
    for thread in threads:
        thread.join(timeout=5)


def assert_delivered_in_order(stub: StubService, scans: list[Any]) -> None:
    """Each scan logged once, in order, and the requests never went back to an earlier scan."""
    assert list(stub.logged.items()) == [(s.scan_id, s.code) for s in scans]
    order = {scan.scan_id: n for n, scan in enumerate(scans)}
    sent = [order[request["scan_id"]] for request in stub.requests]
    assert sent == sorted(sent)


def test_scans_arrive_once_each_in_order_while_the_service_goes_down_and_up(
    tmp_path: Path,
    stub: StubService,
    running: Callable[[Sender], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="station_agent.sender")

    def tried_and_failed(times: int) -> bool:
        return caplog.text.count("The service cannot be reached") >= times

    outbox = Outbox(tmp_path / "outbox.sqlite3")
    running(fast_sender(outbox, stub.url))
    scans = [outbox.add(f"SKU-{n:04d}") for n in range(10)]  # the service is not up yet
    wait_until(lambda: tried_and_failed(1), what="a send to the stopped service")
    assert outbox.count() == 10
    stub.statuses = [503, 502, 503]  # then it starts, and is unwell for a moment
    stub.start()
    wait_until(lambda: outbox.count() == 0, what="the first scans")
    stub.stop()
    scans += [outbox.add(f"SKU-{n:04d}") for n in range(10, 20)]
    wait_until(lambda: tried_and_failed(2), what="a send to the service stopped again")
    assert outbox.count() == 10
    stub.start()  # again on the same port
    scans += [outbox.add(f"SKU-{n:04d}") for n in range(20, 30)]
    wait_until(lambda: outbox.count() == 0, what="the rest")

    assert_delivered_in_order(stub, scans)
    assert sum(request["code"] == "SKU-0000" for request in stub.requests) == 4  # 3 refusals
    request = stub.requests[0]
    assert request["path"] == "/api/barcodes/resolve"
    assert request["auth"] == "Bearer tok-123"
    assert request["station"] == "pack-1"


def test_a_scan_answered_too_late_is_sent_again_and_logged_once(
    tmp_path: Path, stub: StubService, running: Callable[[Sender], None]
) -> None:
    stub.start()
    stub.late = {"SKU-2"}
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    running(fast_sender(outbox, stub.url, timeout=0.3))
    scans = [outbox.add(f"SKU-{n}") for n in range(4)]
    wait_until(lambda: outbox.count() == 0)
    assert_delivered_in_order(stub, scans)
    assert [r["code"] for r in stub.requests].count("SKU-2") == 2


def test_a_crash_between_the_answer_and_the_mark_resends_the_same_scan_id(
    tmp_path: Path, stub: StubService
) -> None:
    stub.start()
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(path)
    scans = [outbox.add(code) for code in ("A1", "B2")]

    def crash(scan_id: str) -> None:
        raise SystemExit("the power went")

    outbox.mark_sent = crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        fast_sender(outbox, stub.url).send(scans[0])
    outbox.close()

    outbox = Outbox(path)  # the agent starts again
    sender = fast_sender(outbox, stub.url)
    while (scan := outbox.first()) is not None:
        assert sender.send(scan) is None
    assert [r["scan_id"] for r in stub.requests] == [scans[0].scan_id, *(s.scan_id for s in scans)]
    assert_delivered_in_order(stub, scans)


def test_a_refused_scan_is_delivered_and_not_sent_again(
    tmp_path: Path, stub: StubService, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.start()
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    scans = [outbox.add(code) for code in ("BAD-1", "SKU-2")]
    sender = fast_sender(outbox, stub.url)
    assert sender.send(scans[0]) is None
    assert sender.send(scans[1]) is None
    assert [r["code"] for r in stub.requests] == ["BAD-1", "SKU-2"]
    assert outbox.count() == 0
    out, err = capsys.readouterr()
    assert "refused  'BAD-1': status_422: Refused by the stub." in err
    assert "sent     'SKU-2': text" in out


def test_a_scan_id_logged_for_another_user_is_delivered(
    tmp_path: Path, stub: StubService, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.start()
    stub.statuses = [409]
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    assert fast_sender(outbox, stub.url).send(outbox.add("SKU-1")) is None
    assert outbox.count() == 0
    assert "logged   'SKU-1': already, by another user" in capsys.readouterr().err


def test_a_wrong_token_keeps_the_scans_and_says_so(
    tmp_path: Path, stub: StubService, caplog: pytest.LogCaptureFixture
) -> None:
    stub.start()
    stub.statuses = [401, 403, 401]
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    scan = outbox.add("SKU-1")
    sender = fast_sender(outbox, stub.url, auth_delay=30.0)
    with caplog.at_level(logging.WARNING):
        assert [sender.send(scan) for _ in range(3)] == [30.0, 30.0, 30.0]
    assert "refuses the token (401): fix --token" in caplog.text
    assert outbox.pending() == [scan]
    assert sender.send(scan) is None
    assert "answers again" in caplog.text


def test_retries_back_off_to_the_cap_and_start_over_after_an_answer(
    tmp_path: Path, stub: StubService, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    scan = outbox.add("SKU-1")
    sender = Sender(outbox, stub.url, "tok", "pack-1", first_delay=0.2, max_delay=5.0)
    with caplog.at_level(logging.WARNING):
        assert [sender.send(scan) for _ in range(7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    # Said once, not once per retry.
    assert caplog.text.count("cannot be reached") == 1
    stub.start()
    stub.statuses = [500]
    assert sender.send(scan) == 5.0
    assert sender.send(scan) is None
    second = outbox.add("SKU-2")
    stub.statuses = [503]
    assert sender.send(second) == 0.2


# ---------------------------------------------------------------------------------------------
# The agent as a program.


class Agent:
    """The real `warehouse-agent` process reading a serial port; its output collected as it comes."""

    def __init__(self, service: str, token: str, port: str, queue_path: Path, station: str) -> None:
        self.process = subprocess.Popen(
            [str(AGENT), "--service", service, "--station", station, "--serial", port,
             "--queue", str(queue_path)],
            env={**os.environ, "WAREHOUSE_AGENT_TOKEN": token},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=lines.extend, args=(stream,), daemon=True).start()
        self.wait_for_err("Reading scans from")

    def wait_for_err(self, text: str) -> None:
        def seen() -> bool:
            assert self.process.poll() is None, "the agent stopped:\n" + "".join(self.err)
            return any(text in line for line in self.err)

        wait_until(seen, what=f"{text!r} from the agent")

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
        self.process.wait(timeout=10)


def queued(path: Path) -> int:
    """How many scans wait in an agent's outbox, read as another process would."""
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])


def test_the_agent_keeps_its_scans_through_a_kill_while_the_service_is_down(
    tmp_path: Path, stub: StubService, pty: tuple[int, str]
) -> None:
    master, port = pty
    outbox = tmp_path / "agent.sqlite3"
    agent = Agent(stub.url, "tok-123", port, outbox, "pack-1")
    try:
        os.write(master, b"".join(b"SKU-%04d\r\n" % n for n in range(5)))
        wait_until(lambda: queued(outbox) == 5, what="5 queued scans")
        agent.stop(kill=True)  # SIGKILL: no clean-up at all

        stub.start()
        agent = Agent(stub.url, "tok-123", port, outbox, "pack-1")
        os.write(master, b"".join(b"SKU-%04d\r\n" % n for n in range(5, 10)))
        wait_until(lambda: len(stub.logged) == 10 and queued(outbox) == 0, what="10 scans")
    finally:
        agent.stop()
    assert list(stub.logged.values()) == [f"SKU-{n:04d}" for n in range(10)]
    assert {r["station"] for r in stub.requests} == {"pack-1"}
    assert sum(line.startswith("sent ") for line in agent.out) == 10
    assert agent.process.returncode == 0  # SIGTERM is a clean stop


def test_the_agent_wants_exactly_one_scanner() -> None:
    result = CliRunner().invoke(
        main, ["--service", "http://x", "--token", "t", "--station", "s"], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "Name one scanner" in result.output


def test_the_station_name_fits_the_service() -> None:
    args = ["--service", "http://x", "--token", "t", "--serial", "/dev/null", "--station"]
    result = CliRunner().invoke(main, [*args, "p" * 65])
    assert result.exit_code == 2
    assert "--station" in result.output


@pytest.mark.parametrize(
    ("line", "reading"),
    [
        ("ST,GS,+  1.234kg", Reading(1234, True)),
        ("US,GS,+  1.230kg", Reading(1230, False)),
        ("OL,GS,+99.999kg", Reading(99999, False)),
        ("   950 g", Reading(950, True)),
        ("  2.50 lb", Reading(1134, True)),
        ("  3.0 oz", Reading(85, True)),
        ("ST,NT,-  0.012kg", Reading(-12, False)),
        ("MOTION 1.1 kg", Reading(1100, False)),
        ("", None),
        ("ST,GS,+ --.--- kg", None),
        ("hello", None),
    ],
)
def test_scale_lines_become_weights(line: str, reading: Reading | None) -> None:
    assert parse_reading(line) == reading
