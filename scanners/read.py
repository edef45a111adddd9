"""Reading one raw scan: the scanner's framing, the AIM symbology identifier, GS1 element
strings, GTINs and SSCCs, and internal codes told apart by pattern.

A scan arrives as the text a keyboard-wedge or serial scanner sent. GS1 element strings
may carry their FNC1 separators as ASCII 29 (GS), as a stand-in the scanner was set to
send instead, or come typed with parentheses, "(01)...(17)...". Everything refused is a
ScanError with a code and a message for the person scanning; nothing else is raised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.sscc import Sscc
from biip.symbology import SymbologyIdentifier
from biip.upc import Upc

GS = "\x1d"
MAX_LENGTH = 512
# AIM identifiers of symbologies whose data is GS1 element strings.
GS1_SYMBOLOGIES = frozenset({"]C1", "]e0", "]e1", "]e2", "]d2", "]Q3", "]J1"})
_AIM = re.compile(r"\][A-Za-z][0-9A-Za-z]")
# Typed GS1 with parentheses: anything opening with "(AI)" is read, and refused, as GS1.
_HRI = re.compile(r"\(\d{2,4}\)")
# Scanners end a scan with Enter or Tab; a wedge may leave either on the string.
_TRAILING = "\r\n\t"


class ScanError(ValueError):
    """A scan that cannot be read; `code` names why, the message says it to a person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ScannerSetup:
    """How the station's scanners are set up, from config.toml."""

    prefix: str = ""
    suffix: str = ""
    # What the scanner sends in place of the GS separator, if it cannot send GS itself.
    gs_standin: str = ""
    # Internal codes: kind (location, tote, carton, order, user) -> regular expression.
    patterns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GS1Data:
    gtin: str | None = None
    sscc: str | None = None
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None
    count: int | None = None
    net_weight_kg: Decimal | None = None


@dataclass(frozen=True)
class Scan:
    """What a scan says. `kind` is gtin, sscc, gs1, one of the internal kinds, or text."""

    raw: str
    text: str
    kind: str
    symbology: str | None = None
    gtin: str | None = None  # GTIN-14
    gs1: GS1Data | None = None


def _strip_framing(raw: str, setup: ScannerSetup) -> str:
    text = raw.rstrip(_TRAILING)
    if setup.prefix and text.startswith(setup.prefix):
        text = text[len(setup.prefix) :]
    if setup.suffix and text.endswith(setup.suffix):
        text = text[: -len(setup.suffix)]
    if setup.gs_standin:
        text = text.replace(setup.gs_standin, GS)
    return text


def _check_characters(text: str) -> None:
    if not text:
        raise ScanError("empty", "The scan is empty.")
    if len(text) > MAX_LENGTH:
        raise ScanError("too_long", f"The scan is longer than {MAX_LENGTH} characters.")
    bad = next((c for c in text if (not c.isprintable() and c != GS)), None)
    if bad is not None:
        raise ScanError(
            "control_character",
            f"The scan holds an invisible control character (code {ord(bad)}): check the "
            "scanner's settings on the scanner set-up page.",
        )


def _gs1_data(message: GS1Message) -> GS1Data:
    values: dict[str, object] = {}
    for element in message.element_strings:
        ai = element.ai.ai
        problem = element.gtin_error or element.sscc_error
        if problem:
            raise ScanError(
                "bad_check_digit",
                f"This GS1 code's {_ai_name(ai)} ({ai}) {element.value} has a wrong check "
                f"digit. {_AGAIN}",
            )
        if element.gtin is not None:
            values["gtin"] = element.gtin.as_gtin_14()
        elif element.sscc is not None:
            values["sscc"] = element.sscc.value
        elif ai == "10":
            values["lot"] = element.value
        elif ai == "17" and element.date is not None:
            values["expiry"] = element.date
        elif ai == "21":
            values["serial"] = element.value
        elif ai in ("30", "37"):
            if not element.value.isdigit():
                raise ScanError(
                    "malformed_gs1",
                    f"This GS1 code's count ({ai}) is empty or not a number. {_AGAIN}",
                )
            values["count"] = int(element.value)
        elif ai.startswith("310") and element.decimal is not None:
            values["net_weight_kg"] = element.decimal
    return GS1Data(**values)  # type: ignore[arg-type]


# biip's word for a value that does not fit its AI, and the AI's format ("N2+N..8").
_MISMATCH = re.compile(r"Failed to match '(?P<value>.*)' with GS1 AI \((?P<ai>\d+)\)", re.S)
_FIELD = re.compile(r"(?P<kind>[NX])(?P<upto>\.\.)?(?P<size>\d+)")
# AIs 11 to 17 are dates.
_DATE_AIS = frozenset({"11", "12", "13", "15", "16", "17"})
# What people on the floor call the AIs they meet; others take GS1's own title.
_AI_NAMES = {"00": "SSCC", "01": "GTIN", "02": "GTIN", "10": "lot", "11": "production date",
             "13": "packing date", "15": "best-before date", "16": "sell-by date",
             "17": "expiry date", "21": "serial number", "30": "count", "37": "count"}  # fmt: skip


def _ai_name(ai: str) -> str:
    if ai in _AI_NAMES:
        return _AI_NAMES[ai]
    try:
        title = GS1ApplicationIdentifier.extract(ai).description
    except ParseError:
        return "part"
    return re.sub(r"\s*\(.*?\)", "", title).lower()


_AGAIN = "Scan it again; if it is refused again, the label is damaged or misprinted."


def _shape(ai: str) -> str:
    """What the value of an AI must be, in words."""
    if ai in _DATE_AIS:
        return "a date written YYMMDD"
    try:
        format = GS1ApplicationIdentifier.extract(ai).format
    except ParseError:
        return "what its AI wants"
    parts = [_FIELD.fullmatch(part) for part in format.split("+")[1:]]
    words = [
        f"{'up to ' if part['upto'] else ''}{part['size']} "
        + ("digits" if part["kind"] == "N" else "letters, digits or symbols")
        for part in parts
        if part is not None
    ]
    return " then ".join(words) or "what its AI wants"


def _gs1_refusal(problem: str) -> ScanError:
    """A GS1 code biip cannot parse, said in floor words: which part is wrong, and how."""
    mismatch = _MISMATCH.search(problem)
    if mismatch is None:
        return ScanError("malformed_gs1", f"This GS1 code cannot be read. {_AGAIN}")
    ai, value = mismatch["ai"], mismatch["value"][len(mismatch["ai"]) :]
    shown = value if len(value) <= 24 else value[:24] + "..."
    return ScanError(
        "malformed_gs1",
        f"This GS1 code's {_ai_name(ai)} ({ai}) reads {shown or 'nothing'}, which is not "
        f"{_shape(ai)}. {_AGAIN}",
    )


def _read_gs1(text: str, symbology: str | None) -> Scan:
    try:
        message = GS1Message.parse_hri(text) if text.startswith("(") else GS1Message.parse(text)
    except ParseError as exc:
        raise _gs1_refusal(str(exc)) from None
    data = _gs1_data(message)
    return Scan(raw="", text=text, kind="gs1", symbology=symbology, gtin=data.gtin, gs1=data)


def _read_digits(text: str, symbology: str | None) -> Scan | None:
    """GTINs (UPC-E included) and SSCCs, by their length; None when the length is neither."""
    try:
        if len(text) in (6, 7) or (
            len(text) == 8 and symbology in ("]E1", "]X0") and text[0] in "01"
        ):
            return Scan(raw="", text=text, kind="gtin", symbology=symbology,
                        gtin=Upc.parse(text).as_gtin_14())  # fmt: skip
        if len(text) in (8, 12, 13, 14):
            return Scan(raw="", text=text, kind="gtin", symbology=symbology,
                        gtin=Gtin.parse(text).as_gtin_14())  # fmt: skip
        if len(text) == 18:
            sscc = Sscc.parse(text).value
            return Scan(raw="", text=text, kind="sscc", symbology=symbology, gs1=GS1Data(sscc=sscc))
    except ParseError:
        raise ScanError(
            "bad_check_digit",
            f"{text} is not a valid barcode: its check digit is wrong. Scan it again; if it is "
            "refused again, type the code printed under the bars.",
        ) from None
    return None


def read_scan(raw: str, setup: ScannerSetup | None = None) -> Scan:
    """Read one raw scan; raises ScanError, and only ScanError, when it cannot be read."""
    setup = setup or ScannerSetup()
    if not isinstance(raw, str):
        raise ScanError("not_text", "A scan is text.")
    if len(raw) > MAX_LENGTH * 2:
        raise ScanError("too_long", f"The scan is longer than {MAX_LENGTH} characters.")
    text = _strip_framing(raw, setup)
    symbology = None
    if _AIM.match(text):
        try:
            symbology = SymbologyIdentifier.extract(text).value
        except ParseError:
            symbology = text[:3]
        text = text[len(symbology) :]
    _check_characters(text)
    if symbology in GS1_SYMBOLOGIES or GS in text or _HRI.match(text):
        found = _read_gs1(text.lstrip(GS), symbology)
    elif text.isascii() and text.isdigit():
        found = _read_digits(text, symbology) or (
            _read_gs1(text, symbology) if len(text) > 16 and text[:2] in ("00", "01", "02") else None
        ) or Scan(raw="", text=text, kind="text", symbology=symbology)  # fmt: skip
    else:
        kind = next(
            (kind for kind, pattern in setup.patterns.items() if re.fullmatch(pattern, text)),
            "text",
        )
        found = Scan(raw="", text=text, kind=kind, symbology=symbology)
    return Scan(raw=raw, text=found.text, kind=found.kind, symbology=found.symbology,
                gtin=found.gtin, gs1=found.gs1)  # fmt: skip
