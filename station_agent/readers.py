"""Where scans come from: a HID scanner through evdev, or a serial (or USB CDC) scanner.

Each reader yields the scans' raw text and raises OSError when its scanner goes away; the
caller opens it again. evdev is imported only where it is used, as it exists only on Linux.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

import serial

from station_agent.keymap import EV_KEY, KEY_ENTER, KeyTranslator

if TYPE_CHECKING:
    from evdev import InputDevice

log = logging.getLogger(__name__)

LINE_ENDS = {"any": rb"\r\n|\r|\n", "cr": rb"\r", "lf": rb"\n", "crlf": rb"\r\n"}
# A wrong baud rate or line end makes endless garbage; no scan is this long.
MAX_LINE = 4096


class ScannerMissing(OSError):
    """No input device matches what the command line named."""


class LineFramer:
    """Splits a serial scanner's bytes into scans at the line end; empty lines are skipped."""

    def __init__(self, line_end: str = "any") -> None:
        if line_end not in LINE_ENDS:
            raise ValueError(f"The line end is one of {', '.join(LINE_ENDS)}, not {line_end!r}.")
        self._end = re.compile(LINE_ENDS[line_end])
        self._buffer = b""

    def feed(self, data: bytes) -> list[str]:
        """Take bytes as they arrived; returns the scans they completed."""
        *lines, self._buffer = self._end.split(self._buffer + data)
        if len(self._buffer) > MAX_LINE:
            log.warning(
                "Dropped %d bytes with no line end: check the baud rate.", len(self._buffer)
            )
            self._buffer = b""
        # latin-1 maps every byte to one character, so nothing fails and GS (0x1d) stays.
        return [line.decode("latin-1") for line in lines if line]


def serial_scans(
    path: str, baud: int = 9600, line_end: str = "any", stop: threading.Event | None = None
) -> Iterator[str]:
    """Scans from a serial scanner, until `stop` is set; raises OSError if the port goes away."""
    framer = LineFramer(line_end)
    # The timeout only lets the loop look at `stop`; a scan's bytes are joined by the framer.
    with serial.Serial(path, baud, timeout=0.2) as port:
        log.info("Reading scans from %s at %d baud.", path, baud)
        while stop is None or not stop.is_set():
            yield from framer.feed(port.read(port.in_waiting or 1))


class KeyEvent(Protocol):
    type: int
    code: int
    value: int


class KeyDevice(Protocol):
    """What key_scans needs of an evdev InputDevice."""

    def grab(self) -> None: ...
    def ungrab(self) -> None: ...
    def read_loop(self) -> Iterator[KeyEvent]: ...


def key_scans(device: KeyDevice, end_key: str = "enter") -> Iterator[str]:
    """Scans typed by a HID scanner, grabbed so they do not also type into the focused window."""
    translator = KeyTranslator(end_key)
    device.grab()
    log.info("Reading scans from %s (grabbed).", device)
    try:
        for event in device.read_loop():
            text = translator.feed(event.type, event.code, event.value)
            if text is not None:
                yield text
    finally:
        with contextlib.suppress(OSError):  # unplugged: the grab went with the device
            device.ungrab()


def input_devices() -> list[InputDevice[str]]:
    """The input devices this user may read, in /dev/input/eventN order."""
    import evdev

    paths = evdev.list_devices(writable=False)
    return [evdev.InputDevice(path) for path in sorted(paths, key=lambda p: (len(p), p))]


def has_keys(device: InputDevice[str]) -> bool:
    """True for a device that types (a keyboard or a scanner in keyboard mode)."""
    return KEY_ENTER in device.capabilities().get(EV_KEY, [])


def open_key_device(path: str | None = None, name: str | None = None) -> InputDevice[str]:
    """The scanner's input device, by its path or by part of its name."""
    import evdev

    if path:
        return evdev.InputDevice(path)
    wanted = (name or "").lower()
    for device in input_devices():
        # A scanner often shows several devices (keyboard, consumer keys); take one that types.
        if wanted in device.name.lower() and has_keys(device):
            return device
        device.close()
    raise ScannerMissing(f"No readable input device that types has {name!r} in its name.")
