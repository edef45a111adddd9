"""The scanner set-up diagnosis: what captures of the test codes say about a scanner."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanners.diagnose import (
    CODES_BY_NAME,
    SETUP_CODES,
    Capture,
    CaptureError,
    SetupCode,
    diagnose,
    read_captures,
    suggested_settings,
)
from scanners.read import GS, ScannerSetup, read_scan
from warehouse.config import ScannersConfig

FAST = (4.0, 5.0, 6.0)
QWERTZ = str.maketrans("yzYZ-_/", "zyZYß?-")  # a US scanner on a German handheld
AZERTY = str.maketrans("aqAQzwZWmM1234567890-_/", "qaQAwzWZ,?&é\"'(-è_çà)°!")


def caps_lock(text: str) -> str:
    return "".join(ch.swapcase() if ch.isascii() and ch.isalpha() else ch for ch in text)


def scanned(
    typed: Callable[[SetupCode], str], end_key: str = "Enter", gaps: tuple[float, ...] = FAST
) -> list[Capture]:
    """One capture of every test code, each typed as the scanner would."""
    return [Capture(code.name, typed(code), end_key, gaps) for code in SETUP_CODES]


CLEAN = {"end_key": "ok", "framing": "ok", "gs": "ok", "case": "ok", "layout": "ok", "speed": "ok"}


@pytest.mark.parametrize(
    ("captures", "severities", "found", "settings_say"),
    [
        pytest.param(
            scanned(lambda code: code.content),
            {**CLEAN, "aim": "warn"},
            {"prefix": "", "suffix": "", "gs_standin": "", "aim": False},
            ['prefix = ""', 'gs_standin = ""', "Turn on AIM symbology identifiers"],
            id="clean-without-aim",
        ),
        pytest.param(
            scanned(lambda code: code.aim + code.content),
            {**CLEAN, "aim": "ok"},
            {"prefix": "", "aim": True},
            ['prefix = ""', "Nothing needs changing on the scanner."],
            id="aim-on",
        ),
        pytest.param(
            scanned(lambda code: code.content.translate(QWERTZ)),
            {**CLEAN, "layout": "fix", "aim": "warn"},
            {"layout": "German (QWERTZ)", "gs_standin": ""},
            ["Set the keyboard country to German (QWERTZ)."],
            id="qwertz",
        ),
        pytest.param(
            scanned(lambda code: code.content.translate(AZERTY)),
            {**CLEAN, "layout": "fix"},
            {"layout": "French (AZERTY)"},
            ["Set the keyboard country to French (AZERTY)."],
            id="azerty",
        ),
        pytest.param(
            scanned(lambda code: "\x02" + code.aim + code.content + "#"),
            {**CLEAN, "framing": "fix", "aim": "ok"},
            {"prefix": "\x02", "suffix": "#", "aim": True},
            ['prefix = "\\u0002"', 'suffix = "#"'],
            id="prefix-suffix-and-aim",
        ),
        pytest.param(
            scanned(lambda code: code.content.replace(GS, "]")),
            {**CLEAN, "gs": "fix"},
            {"gs_standin": "]"},
            ['gs_standin = "]"'],
            id="gs-as-bracket",
        ),
        pytest.param(
            scanned(lambda code: code.aim + code.content.replace(GS, "<GS>")),
            {**CLEAN, "gs": "fix"},
            {"gs_standin": "<GS>"},
            ['gs_standin = "<GS>"'],
            id="gs-as-a-word",
        ),
        pytest.param(
            scanned(lambda code: code.content.replace(GS, "")),
            {**CLEAN, "gs": "fix"},
            {"gs_standin": "", "separator": ""},
            ['gs_standin = ""', "Turn on GS (FNC1) transmission"],
            id="gs-missing",
        ),
        pytest.param(
            scanned(lambda code: code.content, end_key="Tab"),
            {**CLEAN, "end_key": "warn"},
            {"end_key": "Tab"},
            ["Set the terminator"],
            id="tab-ends-scans",
        ),
        pytest.param(
            scanned(lambda code: code.content, end_key=""),
            {**CLEAN, "end_key": "fix"},
            {"end_key": ""},
            ["Set the terminator"],
            id="no-end-key",
        ),
        pytest.param(
            scanned(lambda code: code.content, gaps=(35.0, 48.0, 52.0)),
            {**CLEAN, "speed": "fix"},
            {"mean_gap_ms": 45.0, "max_gap_ms": 52.0},
            ["inter-character delay"],
            id="slow-typing",
        ),
        pytest.param(
            scanned(lambda code: caps_lock(code.content)),
            {**CLEAN, "case": "fix"},
            {"case": "inverted", "changes": ()},
            ["Caps Lock"],
            id="caps-lock",
        ),
        pytest.param(
            scanned(lambda code: caps_lock(code.content.translate(QWERTZ)).replace(GS, "^")),
            {**CLEAN, "case": "fix", "layout": "fix", "gs": "fix"},
            {"case": "inverted", "layout": "German (QWERTZ)", "gs_standin": "^"},
            ['gs_standin = "^"', "Caps Lock", "German (QWERTZ)"],
            id="caps-lock-qwertz-and-caret",
        ),
        pytest.param(
            scanned(lambda code: "" if code.name == "gs1-datamatrix" else code.content),
            {"codes": "fix", "gs": "ok"},
            {},
            ["Turn on reading of GS1 DataMatrix"],
            id="no-2d-reading",
        ),
    ],
)
def test_a_diagnosis_per_kind_of_scanner(
    captures: list[Capture],
    severities: dict[str, str],
    found: dict[str, Any],
    settings_say: list[str],
) -> None:
    diagnosis = diagnose(captures)
    by_topic = {f.topic: f.severity for f in diagnosis.findings}
    assert {topic: by_topic.get(topic) for topic in severities} == severities
    assert all(f.message for f in diagnosis.findings)
    summary = {
        **{name: getattr(diagnosis, name) for name in found if name != "layout"},
        "layout": diagnosis.layout.handheld if diagnosis.layout else None,
    }
    assert {name: summary[name] for name in found} == found
    text = suggested_settings(diagnosis)
    for said in settings_say:
        assert said in text
    assert ScannersConfig(**tomllib.loads(text)["scanners"])


def test_the_qwertz_finding_names_the_swapped_characters() -> None:
    diagnosis = diagnose(scanned(lambda code: code.content.translate(QWERTZ)))
    assert {("z", "y"), ("y", "z"), ("-", "ß"), ("/", "-"), ("_", "?")} <= set(diagnosis.changes)
    layout = next(f for f in diagnosis.findings if f.topic == "layout")
    assert "z→y" in layout.message and "QWERTZ" in layout.message


def test_the_suggested_settings_let_the_parser_read_the_damaged_scans() -> None:
    raw = {code.name: "#" + code.aim + code.content.replace(GS, "|") + "!" for code in SETUP_CODES}
    diagnosis = diagnose(Capture(name, text, "Tab", FAST) for name, text in raw.items())
    found = ScannersConfig(**tomllib.loads(suggested_settings(diagnosis))["scanners"])
    setup = ScannerSetup(found.prefix, found.suffix, found.gs_standin)
    gs1 = read_scan(raw["gs1-128"] + "\t", setup).gs1
    assert gs1 and (gs1.lot, gs1.expiry) == ("ABC123", date(2027, 12, 31))
    matrix = read_scan(raw["gs1-datamatrix"], setup).gs1
    assert matrix and (matrix.lot, matrix.serial) == ("LOT7", "XYZ789")
    assert read_scan(raw["code128"], setup).text == "WH-SETUP-42"


def test_the_test_codes_are_what_the_parser_expects() -> None:
    for code in SETUP_CODES:
        assert read_scan(code.aim + code.content).symbology == code.aim
    assert read_scan(CODES_BY_NAME["ean13"].content).gtin == "09506000134352"
    assert (
        read_scan(CODES_BY_NAME["gs1-128"].label).gs1
        == read_scan(CODES_BY_NAME["gs1-128"].content).gs1
    )


def test_the_readings_show_control_characters() -> None:
    diagnosis = diagnose([Capture("gs1-128", CODES_BY_NAME["gs1-128"].content)])
    assert diagnosis.readings[0].received == "010950600013435210ABC123<GS>17271231"
    assert diagnosis.readings[0].as_printed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "captures"),
        ([], "captures"),
        ({"captures": []}, "captures"),
        ({"captures": ["x"]}, "captures[0]"),
        ({"captures": [{"code": "nope", "text": "x"}]}, "captures[0].code"),
        ({"captures": [{"code": "ean13", "text": 5}]}, "captures[0].text"),
        ({"captures": [{"code": "ean13", "text": "\ud800"}]}, "captures[0].text"),
        ({"captures": [{"code": "ean13", "text": "x", "end_key": "F1"}]}, "captures[0].end_key"),
        ({"captures": [{"code": "ean13", "text": "x", "gaps_ms": [-1]}]}, "captures[0].gaps_ms"),
        ({"captures": [{"code": "ean13", "text": "x", "gaps_ms": [True]}]}, "captures[0].gaps_ms"),
    ],
)
def test_a_body_that_is_not_captures_is_refused(body: object, field: str) -> None:
    with pytest.raises(CaptureError) as refused:
        read_captures(body)
    assert refused.value.field == field and refused.value.message


def test_captures_are_read_from_json() -> None:
    body = {
        "captures": [
            {"code": "ean13", "text": "9506000134352", "end_key": "Tab", "gaps_ms": [4, 5.5]}
        ]
    }
    assert read_captures(body) == (Capture("ean13", "9506000134352", "Tab", (4.0, 5.5)),)


def _framed(prefix: str, code: SetupCode, suffix: str) -> str:
    return prefix + code.content + suffix


_any_text = st.one_of(
    st.text(max_size=60),
    st.builds(_framed, st.text(max_size=4), st.sampled_from(SETUP_CODES), st.text(max_size=4)),
)
_any_capture = st.builds(
    Capture,
    code=st.sampled_from([*CODES_BY_NAME, "unknown"]),
    text=_any_text,
    end_key=st.sampled_from(["Enter", "Tab", "", "F1"]),
    gaps_ms=st.lists(st.floats(), max_size=6).map(tuple),
)


@given(st.lists(_any_capture, max_size=8))
@settings(max_examples=300, deadline=None)
def test_any_captures_are_diagnosed_and_give_valid_settings(captures: list[Capture]) -> None:
    diagnosis = diagnose(captures)
    assert all(f.severity in ("ok", "fix", "warn") and f.message for f in diagnosis.findings)
    text = suggested_settings(diagnosis)
    assert ScannersConfig(**tomllib.loads(text)["scanners"])
