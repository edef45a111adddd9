"""The scanner set-up test: a sheet of test codes, and what a scanner's captures of them say
about its settings.

A capture is what the browser saw while one test code was scanned: the characters typed
(control characters such as GS included), the key that ended the scan and the milliseconds
between keys. It is read as [prefix][AIM identifier][data][suffix], where the data may have
its GS separators replaced by a stand-in or dropped, and its characters changed by a
keyboard layout that does not match the scanner's, or by Caps Lock. `diagnose` reads any
captures without raising; `read_captures` refuses a request body with a CaptureError.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from scanners.read import GS

Severity = Literal["ok", "fix", "warn"]
Case = Literal["ok", "inverted", "upper", "lower"]

# A keyboard-wedge scanner types its keys a few ms apart; slower than this is its
# inter-character delay at work.
SLOW_GAP_MS = 30.0
# The longest prefix or suffix looked for, and the longest GS stand-in.
MAX_FRAME = 16
MAX_STANDIN = 6
MAX_CAPTURES = 20
MAX_TEXT = 1024
MAX_GAPS = 2048
# GS1's character set 82: a stand-in drawn from it may also occur inside a lot or serial.
GS1_CHARACTERS = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_SHOWN = {
    GS: "<GS>",
    "\x02": "<STX>",
    "\x03": "<ETX>",
    "\x04": "<EOT>",
    "\x1e": "<RS>",
    "\x1b": "<ESC>",
    "\r": "<CR>",
    "\n": "<LF>",
    "\t": "<TAB>",
    " ": "<space>",
}


@dataclass(frozen=True)
class SetupCode:
    """One code of the printed set-up sheet."""

    name: str
    title: str
    symbology: str
    content: str  # exactly what the code holds, GS1 separators as GS
    label: str  # what is printed under it
    aim: str  # the AIM symbology identifier a scanner sends before it when set to
    hint: str  # what scanning it tells


SETUP_CODES = (
    SetupCode("code128", "Code 128", "Code 128", "WH-SETUP-42", "WH-SETUP-42", "]C0",
              "What the scanner adds before and after a scan, and its end key."),
    SetupCode("ean13", "EAN-13", "EAN-13", "9506000134352", "9506000134352", "]E0",
              "A product barcode."),
    SetupCode("gs1-128", "GS1-128", "GS1-128", "0109506000134352" "10ABC123" + GS + "17271231",
              "(01)09506000134352(10)ABC123(17)271231", "]C1",
              "The GS separator that ends a lot number."),
    SetupCode("gs1-datamatrix", "GS1 DataMatrix", "GS1 DataMatrix",
              "0109506000134352" "10LOT7" + GS + "21XYZ789" + GS + "17271231",
              "(01)09506000134352(10)LOT7(21)XYZ789(17)271231", "]d2",
              "Two-dimensional codes, with two GS separators."),
    SetupCode("keyboard", "Code 128 keyboard test", "Code 128", "az-QY/09_ym", "az-QY/09_ym",
              "]C0", "The keyboard layout (y, z, a, q, -, /, _) and Caps Lock."),
)  # fmt: skip
CODES_BY_NAME = {code.name: code for code in SETUP_CODES}


@dataclass(frozen=True)
class Layout:
    """A keyboard mismatch: the handheld's layout turns the keys the scanner sends into others."""

    handheld: str
    scanner: str
    changes: tuple[tuple[str, str], ...]  # (sent, shown)


def _layout(handheld: str, scanner: str, sent: str, shown: str) -> Layout:
    return Layout(handheld, scanner, tuple(zip(sent, shown, strict=True)))


# A scanner set to US English on a German or a French handheld, and the other way round.
_DE_SENT, _DE_SHOWN = "yzYZ-_/?]&*()", "zyZYß?-_+/()="
LAYOUTS = (
    _layout("German (QWERTZ)", "US English", _DE_SENT, _DE_SHOWN),
    _layout("French (AZERTY)", "US English",
            "aqAQzwZWmM1234567890-_/]", "qaQAwzWZ,?&é\"'(-è_çà)°!$"),
    _layout("US English", "German (QWERTZ)", _DE_SHOWN, _DE_SENT),
)  # fmt: skip


@dataclass(frozen=True)
class Capture:
    """What the browser saw while one test code was scanned."""

    code: str  # SetupCode.name
    text: str
    end_key: str = "Enter"  # "Enter", "Tab" or "" (none: the scan ended by silence)
    gaps_ms: tuple[float, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One thing learnt about the scanner, said to a person."""

    topic: str
    severity: Severity
    message: str
    on_scanner: str = ""  # what to change in the scanner's own settings, if anything


@dataclass(frozen=True)
class Reading:
    """What arrived for one test code, control characters made visible."""

    code: str
    title: str
    received: str
    as_printed: bool


@dataclass(frozen=True)
class Diagnosis:
    """Everything learnt from the captures."""

    findings: tuple[Finding, ...]
    readings: tuple[Reading, ...]
    prefix: str = ""
    suffix: str = ""
    separator: str | None = None  # what arrives for GS: GS, a stand-in, "" (nothing) or unknown
    end_key: str | None = None
    aim: bool | None = None
    case: Case = "ok"
    layout: Layout | None = None
    changes: tuple[tuple[str, str], ...] = ()  # (printed, received) characters that differ
    mean_gap_ms: float | None = None
    max_gap_ms: float | None = None

    @property
    def gs_standin(self) -> str:
        """The stand-in the service must read as GS; empty when GS arrives or nothing does."""
        return self.separator if self.separator not in (None, "", GS) else ""


class CaptureError(ValueError):
    """A request body that is not a list of captures; `field` names the wrong part."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def shown(text: str) -> str:
    """The text with control characters and spaces spelled out, for a person to read."""
    return "".join(
        _SHOWN.get(ch) or (ch if ch.isprintable() else f"<0x{ord(ch):02X}>") for ch in text
    )


def _quoted(text: str) -> str:
    return f'"{shown(text)}"'


# Taking captures apart.


def _split(body: str, code: SetupCode) -> tuple[str, str | None] | None:
    """The data without separators and what arrived as each GS; None when the body does not fit."""
    if GS not in code.content:
        return (body, None) if len(body) == len(code.content) else None
    # Some scanners also send the leading FNC1 of a GS1 code as a GS.
    for content in (code.content, GS + code.content):
        parts = content.split(GS)
        room = len(body) - sum(map(len, parts))
        count = len(parts) - 1
        if room < 0 or room % count or room // count > MAX_STANDIN:
            continue
        width, at, data, seen = room // count, 0, [], set()
        for part in parts[:-1]:
            data.append(body[at : at + len(part)])
            seen.add(body[at + len(part) : at + len(part) + width])
            at += len(part) + width
        if len(seen) == 1:
            return "".join(data) + body[at:], seen.pop()
    return None


def _score(found: Sequence[tuple[Capture, SetupCode]], start: int, end: int) -> tuple[int, int]:
    fits = matches = 0
    for capture, code in found:
        split = _split(capture.text[start : len(capture.text) - end], code)
        if split is not None:
            fits += 1
            printed = code.content.replace(GS, "")
            matches += sum(a.lower() == b.lower() for a, b in zip(split[0], printed, strict=False))
    return fits, matches


def _shared_start(texts: Sequence[str]) -> str:
    first, last = min(texts), max(texts)
    size = next(
        (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first)
    )
    return first[:size]


def _frame(found: Sequence[tuple[Capture, SetupCode]]) -> tuple[int, bool, int]:
    """Prefix length, AIM identifier or not, and suffix length that explain the most captures."""
    texts = [capture.text for capture, _ in found]
    shortest = min(map(len, texts))
    head = _shared_start(texts)[:MAX_FRAME]
    tail = _shared_start([text[::-1] for text in texts])[:MAX_FRAME]
    best: tuple[tuple[int, int], int, bool, int] | None = None
    for prefix in range(len(head) + 1):
        # An AIM identifier is a flag character (] unless a layout changed it) common to
        # every scan, then the letter of the code's symbology.
        has_aim = prefix < len(head) and all(
            capture.text[prefix + 1 : prefix + 2].upper() == code.aim[1].upper()
            for capture, code in found
        )
        for aim in (False, True) if has_aim else (False,):
            for suffix in range(len(tail) + 1):
                if prefix + 3 * aim + suffix > shortest:
                    break
                score = _score(found, prefix + 3 * aim, suffix)
                # Ties go to the longer frame: a prefix every scan shares is the scanner's.
                if best is None or score >= best[0]:
                    best = (score, prefix, aim, suffix)
    assert best is not None
    return best[1], best[2], best[3]


# Findings.

_TO_ENTER = "Set the terminator (the key sent after each scan) to Enter (CR)."
_AIM_ON = "Turn on AIM symbology identifiers (AIM ID prefix)."
_SEND_GS = 'Turn on GS (FNC1) transmission, or have the scanner send "]" in its place.'
_SAFE_STANDIN = 'Send "]" or "^" in place of GS: GS1 data never holds them.'
_CAPS_OFF = "Turn Caps Lock off on the handheld, or turn on the scanner's Caps Lock override."
_NO_DELAY = "Set the inter-character delay to 0 ms (or as low as it goes)."


def _coverage(
    by_code: dict[str, Capture], garbled: list[tuple[Capture, SetupCode]]
) -> list[Finding]:
    findings = []
    for code in SETUP_CODES:
        capture = by_code.get(code.name)
        if capture is None:
            said = f"The {code.title} was not scanned: the findings are incomplete."
            findings.append(Finding("codes", "warn", said))
        elif not capture.text:
            said = f"Nothing arrived for the {code.title}: the scanner does not read it."
            turn_on = (
                f"Turn on reading of {code.symbology} (a 1D-only scanner cannot read 2D codes)."
            )
            findings.append(Finding("codes", "fix", said, turn_on))
    for capture, code in garbled:
        said = (
            f"The {code.title} arrived as {_quoted(capture.text)}, which does not fit it: "
            "scan it again."
        )
        findings.append(Finding("codes", "warn", said))
    return findings


def _end_key(keys: Counter[str]) -> tuple[str | None, Finding]:
    if set(keys) == {"Enter"}:
        return "Enter", Finding("end_key", "ok", "Each scan ends with Enter.")
    if set(keys) == {"Tab"}:
        said = "Each scan ends with Tab: scan fields take it, other forms need Enter."
        return "Tab", Finding("end_key", "warn", said, _TO_ENTER)
    if set(keys) == {""}:
        said = "No scan ended with Enter or Tab, so a scan never submits by itself."
        return "", Finding("end_key", "fix", said, _TO_ENTER)
    named = ", ".join(f"{key or 'no key'} ({n})" for key, n in keys.most_common())
    return None, Finding("end_key", "warn", f"Scans end with different keys: {named}.", _TO_ENTER)


def _framing(prefix: str, suffix: str) -> Finding:
    if not prefix and not suffix:
        return Finding("framing", "ok", "The scanner adds nothing before or after a code.")
    before = [f"{_quoted(prefix)} before"] if prefix else []
    after = [f"{_quoted(suffix)} after"] if suffix else []
    said = (
        f"The scanner adds {' and '.join(before + after)} each code: the settings below strip it."
    )
    return Finding("framing", "fix", said)


def _aim(aim: bool, ids: Iterable[str]) -> Finding:
    if aim:
        said = (
            f"The scanner sends AIM symbology identifiers ({', '.join(sorted(set(ids)))}): "
            "the service tells GS1 codes by them."
        )
        return Finding("aim", "ok", said)
    said = (
        "The scanner sends no AIM symbology identifiers: without them a GS1 code with no GS "
        "inside, such as (01)...(10)LOT, reads as plain text."
    )
    return Finding("aim", "warn", said, _AIM_ON)


def _separator(seen: dict[str, str]) -> tuple[str | None, Finding]:
    if not seen:
        said = "The GS separator was not tested: no GS1 code with one was read."
        return None, Finding("gs", "warn", said)
    if len(set(seen.values())) > 1:
        ways = ", ".join(
            f"{_quoted(value)} in the {CODES_BY_NAME[name].title}" for name, value in seen.items()
        )
        said = f"The GS separator arrives differently: as {ways}."
        return None, Finding("gs", "warn", said, "Send GS (FNC1) the same way in every symbology.")
    value = next(iter(seen.values()))
    if value == GS:
        return value, Finding("gs", "ok", "The GS separator arrives as ASCII 29 (GS).")
    if value == "":
        said = (
            "The GS separator does not arrive: in (10)ABC123(17)271231 the service cannot "
            "tell where the lot number ends."
        )
        return value, Finding("gs", "fix", said, _SEND_GS)
    said = (
        f"The GS separator arrives as {_quoted(value)}: the settings below make the service "
        "read it as GS."
    )
    if len(value) == 1 and value in GS1_CHARACTERS:
        said += f" But {_quoted(value)} may also occur inside a lot or serial number."
        return value, Finding("gs", "fix", said, _SAFE_STANDIN)
    return value, Finding("gs", "fix", said)


def _case(pairs: Sequence[tuple[str, str]]) -> Case:
    def flipped(upper: bool) -> bool:
        letters = [
            got
            for printed, got in pairs
            if _letter(printed) and _letter(got) and printed.isupper() == upper
        ]
        return sum(got.isupper() != upper for got in letters) * 2 > len(letters)

    lower, upper = flipped(False), flipped(True)
    return "inverted" if lower and upper else "upper" if lower else "lower" if upper else "ok"


def _letter(ch: str) -> bool:
    # ASCII only: "ß".upper() is two letters long.
    return ch.isascii() and ch.isalpha()


def _uncased(printed: str, got: str, case: Case) -> str:
    """The received character as it would have arrived without the case damage."""
    flip = case == "inverted" or (case == "upper" and printed.islower())
    flip = flip or (case == "lower" and printed.isupper())
    return got.swapcase() if flip and _letter(got) else got


def _case_finding(case: Case) -> Finding:
    if case == "ok":
        return Finding("case", "ok", "Upper- and lower-case letters arrive as printed.")
    if case == "inverted":
        return Finding(
            "case", "fix", "Letters arrive with their case inverted: Caps Lock is on.", _CAPS_OFF
        )
    said = f"The scanner turns every letter into {case} case."
    return Finding("case", "fix", said, "Turn off the scanner's case conversion.")


def _likely_layout(
    changes: Counter[tuple[str, str]], pairs: Counter[tuple[str, str]]
) -> Layout | None:
    best, best_score = None, 0
    for layout in LAYOUTS:
        table = dict(layout.changes)
        explained = sum(n for (printed, got), n in changes.items() if table.get(printed) == got)
        # Characters the layout would have changed that arrived otherwise count against it.
        against = sum(n for (printed, got), n in pairs.items() if table.get(printed, got) != got)
        if explained - against > best_score:
            best, best_score = layout, explained - against
    return best


def _layout_findings(changes: Counter[tuple[str, str]], layout: Layout | None) -> list[Finding]:
    def listed(pairs: Iterable[tuple[str, str]]) -> str:
        return ", ".join(f"{shown(printed)}→{shown(got)}" for printed, got in pairs)

    if not changes:
        said = "Every character arrives as printed: the keyboard layouts match."
        return [Finding("layout", "ok", said)]
    if layout is None:
        said = (
            f"Characters arrive changed ({listed(changes)}): the scanner's keyboard country "
            "does not match the handheld's keyboard layout."
        )
        return [
            Finding("layout", "fix", said, "Set the keyboard country to the handheld's layout.")
        ]
    table = dict(layout.changes)
    explained = [pair for pair in changes if table.get(pair[0]) == pair[1]]
    said = (
        f"Characters arrive changed ({listed(explained)}): the scanner types as "
        f"{layout.scanner} on a handheld set to {layout.handheld}."
    )
    findings = [Finding("layout", "fix", said, f"Set the keyboard country to {layout.handheld}.")]
    if others := [pair for pair in changes if pair not in explained]:
        said = f"Other characters arrive changed as well ({listed(others)}): scan again."
        findings.append(Finding("layout", "warn", said))
    return findings


def _speed(gaps: Sequence[float]) -> tuple[float | None, float | None, Finding]:
    if not gaps:
        return None, None, Finding("speed", "warn", "The typing speed was not measured.")
    mean, top = sum(gaps) / len(gaps), max(gaps)
    said = f"Keys arrive {mean:.0f} ms apart on average, at most {top:.0f} ms"
    if mean > SLOW_GAP_MS:
        return mean, top, Finding("speed", "fix", f"{said}: too slow for a scanner.", _NO_DELAY)
    return mean, top, Finding("speed", "ok", f"{said}: fast enough.")


def diagnose(captures: Iterable[Capture]) -> Diagnosis:
    """What the captures of the test codes say about the scanner; never raises."""
    by_code = {capture.code: capture for capture in captures if capture.code in CODES_BY_NAME}
    found = [(c, CODES_BY_NAME[c.code]) for c in by_code.values() if c.text]
    readings = tuple(
        Reading(
            code.name,
            code.title,
            shown(by_code[code.name].text),
            by_code[code.name].text == code.content,
        )
        for code in SETUP_CODES
        if code.name in by_code
    )
    gaps = [g for c, _ in found for g in c.gaps_ms if math.isfinite(g) and g >= 0]
    mean, top, speed = _speed(gaps)
    if not found:
        return Diagnosis((*_coverage(by_code, []), speed), readings)
    prefix_length, aim, suffix_length = _frame(found)
    start = prefix_length + 3 * aim
    first = found[0][0].text
    prefix, suffix = first[:prefix_length], first[len(first) - suffix_length :]
    fitting, garbled, separators = [], [], {}
    pairs: list[tuple[str, str]] = []
    for capture, code in found:
        split = _split(capture.text[start : len(capture.text) - suffix_length], code)
        if split is None:
            garbled.append((capture, code))
            continue
        fitting.append(capture)
        if aim:
            pairs.append(("]", capture.text[prefix_length]))
        pairs += zip(code.content.replace(GS, ""), split[0], strict=True)
        if split[1] is not None:
            separators[code.name] = split[1]
    end_key, end_finding = _end_key(
        Counter(c.end_key if c.end_key in ("Enter", "Tab") else "" for c, _ in found)
    )
    separator, gs_finding = _separator(separators)
    case = _case(pairs)
    uncased = Counter((printed, _uncased(printed, got, case)) for printed, got in pairs)
    changes = Counter({pair: n for pair, n in uncased.items() if pair[0] != pair[1]})
    layout = _likely_layout(changes, uncased)
    findings = [*_coverage(by_code, garbled), end_finding]
    if fitting:
        ids = [c.text[prefix_length : prefix_length + 3] for c in fitting]
        findings += [
            _framing(prefix, suffix),
            _aim(aim, ids),
            gs_finding,
            _case_finding(case),
            *_layout_findings(changes, layout),
        ]
    findings.append(speed)
    return Diagnosis(
        findings=tuple(findings),
        readings=readings,
        prefix=prefix,
        suffix=suffix,
        separator=separator,
        end_key=end_key,
        aim=aim if fitting else None,
        case=case,
        layout=layout,
        changes=tuple(changes),
        mean_gap_ms=mean,
        max_gap_ms=top,
    )


# Output.


def _toml_string(value: str) -> str:
    def escaped(ch: str) -> str:
        if ch in '"\\':
            return "\\" + ch
        if ch.isprintable():
            return ch
        return f"\\u{ord(ch):04X}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08X}"

    return '"' + "".join(map(escaped, value)) + '"'


def suggested_settings(diagnosis: Diagnosis) -> str:
    """The [scanners] config.toml lines that fix what the service can, and what the scanner must."""
    lines = [
        "# In the [scanners] section of config.toml:",
        "[scanners]",
        f"prefix = {_toml_string(diagnosis.prefix)}",
        f"suffix = {_toml_string(diagnosis.suffix)}",
        f"gs_standin = {_toml_string(diagnosis.gs_standin)}",
        "",
    ]
    on_scanner = list(dict.fromkeys(f.on_scanner for f in diagnosis.findings if f.on_scanner))
    if on_scanner:
        lines.append("# On the scanner itself (scan the set-up codes of its manual):")
        lines += [f"# - {change}" for change in on_scanner]
        lines.append("# Then run the scanner set-up page again.")
    else:
        lines.append("# Nothing needs changing on the scanner.")
    return "\n".join(lines) + "\n"


def read_captures(data: object) -> tuple[Capture, ...]:
    """Captures from the set-up page's JSON body; raises CaptureError when it holds none."""
    items = data.get("captures") if isinstance(data, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_CAPTURES:
        raise CaptureError(
            f'Send {{"captures": [...]}} with 1 to {MAX_CAPTURES} captures.', "captures"
        )
    return tuple(_read_capture(item, f"captures[{i}]") for i, item in enumerate(items))


def _read_capture(item: object, where: str) -> Capture:
    if not isinstance(item, dict):
        raise CaptureError(f"{where}: a capture is an object.", where)
    code, text = item.get("code"), item.get("text")
    end_key, gaps = item.get("end_key", Capture.end_key), item.get("gaps_ms", [])
    if code not in CODES_BY_NAME:
        raise CaptureError(f"{where}.code: not a code of the set-up sheet.", f"{where}.code")
    if not isinstance(text, str) or len(text) > MAX_TEXT or _unencodable(text):
        raise CaptureError(f"{where}.text: text of up to {MAX_TEXT} characters.", f"{where}.text")
    if end_key not in ("Enter", "Tab", ""):
        raise CaptureError(f'{where}.end_key: "Enter", "Tab" or "".', f"{where}.end_key")
    if not isinstance(gaps, list) or len(gaps) > MAX_GAPS or not all(map(_is_gap, gaps)):
        said = f"{where}.gaps_ms: up to {MAX_GAPS} numbers of milliseconds."
        raise CaptureError(said, f"{where}.gaps_ms")
    return Capture(code, text, end_key, tuple(float(g) for g in gaps))


def _is_gap(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 60_000


def _unencodable(text: str) -> bool:
    # JSON may carry a lone surrogate, which no config file or page can hold.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
