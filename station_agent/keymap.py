"""Key events of a keyboard-wedge (HID) scanner turned into scan text, for a US layout.

Pure: it takes (type, code, value) triples as evdev reports them, so a recorded sequence can
be replayed in a test. The codes are the kernel's (linux/input-event-codes.h), a stable ABI,
so this module needs no evdev. GS (ASCII 29), the FNC1 separator of GS1 codes, comes from a
scanner either as Ctrl+] or as an Alt+keypad code (Alt held, keypad 0 2 9, Alt released).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

log = logging.getLogger(__name__)

GS = "\x1d"
EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2

KEY_TAB = 15
KEY_RIGHTBRACE = 27
KEY_ENTER = 28
KEY_LEFTCTRL = 29
KEY_LEFTSHIFT = 42
KEY_RIGHTSHIFT = 54
KEY_LEFTALT = 56
KEY_KPENTER = 96
KEY_RIGHTCTRL = 97
KEY_RIGHTALT = 100

SHIFTS = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})
CTRLS = frozenset({KEY_LEFTCTRL, KEY_RIGHTCTRL})
ALTS = frozenset({KEY_LEFTALT, KEY_RIGHTALT})
END_KEYS = {"enter": frozenset({KEY_ENTER, KEY_KPENTER}), "tab": frozenset({KEY_TAB})}


def _row(first_code: int, plain: str, shifted: str) -> dict[int, tuple[str, str]]:
    return {first_code + i: pair for i, pair in enumerate(zip(plain, shifted, strict=True))}


# Each row of the keyboard has consecutive key codes, so a row is its first code and its keys.
CHARACTERS: dict[int, tuple[str, str]] = {
    **_row(2, "1234567890-=", "!@#$%^&*()_+"),
    **_row(16, "qwertyuiop[]", "QWERTYUIOP{}"),
    **_row(30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    **_row(43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
    57: (" ", " "),
    # The keypad, which some scanners use for digits; NumLock is taken to be on.
    55: ("*", "*"),
    **_row(71, "789-456+1230.", "789-456+1230."),
    98: ("/", "/"),
}
KEYPAD_DIGITS = {
    code: plain for code, (plain, _) in CHARACTERS.items() if 71 <= code <= 83 and plain.isdigit()
}


class KeyTranslator:
    """Turns a scanner's key events, one at a time, into scans ended by the end key."""

    def __init__(self, end_key: str = "enter") -> None:
        if end_key not in END_KEYS:
            raise ValueError(f"The end key is one of {', '.join(END_KEYS)}, not {end_key!r}.")
        self.end_codes = END_KEYS[end_key]
        self._held: set[int] = set()
        self._text: list[str] = []
        self._alt_digits = ""

    def feed(self, type_: int, code: int, value: int) -> str | None:
        """Take one event; returns the scan's text when this event ended a (non-empty) scan."""
        if type_ != EV_KEY:
            return None  # EV_SYN reports, EV_MSC scan codes, LEDs: nothing typed
        if code in SHIFTS | CTRLS | ALTS:
            self._modifier(code, value)
            return None
        if value != KEY_DOWN:
            return None  # key-up and autorepeat: a scanner means neither as a character
        if code in self.end_codes:
            text, self._text = "".join(self._text), []
            return text or None
        if self._held & ALTS:
            if code in KEYPAD_DIGITS:
                self._alt_digits += KEYPAD_DIGITS[code]
            else:
                self._drop(code, " with Alt held")
        elif self._held & CTRLS:
            if code == KEY_RIGHTBRACE:
                self._text.append(GS)
            else:
                self._drop(code, " with Ctrl held")
        elif code in CHARACTERS:
            self._text.append(CHARACTERS[code][bool(self._held & SHIFTS)])
        else:
            self._drop(code, "")
        return None

    def _modifier(self, code: int, value: int) -> None:
        if value == KEY_DOWN:
            self._held.add(code)
        elif value == KEY_UP:
            self._held.discard(code)
            # An Alt+keypad code is typed when the last Alt key goes up (Windows' Alt codes).
            if code in ALTS and not self._held & ALTS and self._alt_digits:
                self._text.append(chr(int(self._alt_digits) % 256))
                self._alt_digits = ""

    def _drop(self, code: int, how: str) -> None:
        log.warning("Dropped key code %d%s: the key map does not know it.", code, how)


def scans_from_events(
    events: Iterable[tuple[int, int, int]], end_key: str = "enter"
) -> Iterator[str]:
    """The scans in a sequence of (type, code, value) key events."""
    translator = KeyTranslator(end_key)
    for type_, code, value in events:
        text = translator.feed(type_, code, value)
        if text is not None:
            yield text
