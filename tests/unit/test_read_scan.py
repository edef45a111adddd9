"""Reading raw scans: framing, AIM identifiers, GS1 element strings, GTINs, internal codes."""

from __future__ import annotations

import contextlib
import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanners.gtin import with_check_digit
from scanners.read import GS, ScanError, ScannerSetup, read_scan

SETUP = ScannerSetup(
    gs_standin="~",
    patterns={
        "location": r"[A-Z][0-9]{2}-[0-9]{2}-[0-9]",
        "user": r"U[0-9]{6}",
        "tote": r"T[0-9]{5}",
    },
)


@pytest.mark.parametrize(
    ("raw", "kind", "gtin", "gs1"),
    [
        # GS1 General Specifications examples: GTIN with batch and expiry, FNC1 as GS.
        (
            "]C1010061414199999610ABC123" + GS + "17251231",
            "gs1",
            "00614141999996",
            {"lot": "ABC123", "expiry": date(2025, 12, 31)},
        ),
        # The same typed as human-readable text with parentheses.
        (
            "(01)00614141999996(10)ABC123(17)251231",
            "gs1",
            "00614141999996",
            {"lot": "ABC123", "expiry": date(2025, 12, 31)},
        ),
        # The same from a scanner set to send "~" instead of GS, without an AIM identifier.
        (
            "010061414199999610ABC123~17251231",
            "gs1",
            "00614141999996",
            {"lot": "ABC123", "expiry": date(2025, 12, 31)},
        ),
        # GS1 DataMatrix with serial number, and a count of trade items.
        (
            "]d201095011010209171719050810ABCD1234" + GS + "21XYZ",
            "gs1",
            "09501101020917",
            {"lot": "ABCD1234", "expiry": date(2019, 5, 8), "serial": "XYZ"},
        ),
        ("]C10210614141000033" + "3712", "gs1", "10614141000033", {"count": 12}),
        # Net weight in kg with 3 decimals.
        (
            "]C10100614141999996" + "3103012345",
            "gs1",
            "00614141999996",
            {"net_weight_kg": Decimal("12.345")},
        ),
        # GTINs in every length, with and without the AIM identifier.
        ("]E04006381333931", "gtin", "04006381333931", None),
        ("4006381333931", "gtin", "04006381333931", None),
        ("036000291452", "gtin", "00036000291452", None),
        ("96385074", "gtin", "00000096385074", None),
        ("0425261", "gtin", "00042100005264", None),  # UPC-E expands to UPC-A 042100005264
        ("10614141000033", "gtin", "10614141000033", None),
        # A scan ended by the scanner's Enter or Tab.
        ("4006381333931\r\n", "gtin", "04006381333931", None),
    ],
)
def test_gs1_and_gtin_scans(raw: str, kind: str, gtin: str, gs1: dict | None) -> None:
    scan = read_scan(raw, SETUP)
    assert (scan.kind, scan.gtin) == (kind, gtin)
    for name, value in (gs1 or {}).items():
        assert getattr(scan.gs1, name) == value, name


def test_an_sscc() -> None:
    scan = read_scan("]C100376104250021234569")
    assert scan.kind == "gs1" and scan.gs1 and scan.gs1.sscc == "376104250021234569"
    assert read_scan("376104250021234569").kind == "sscc"


@pytest.mark.parametrize(
    ("raw", "kind", "text"),
    [
        ("A03-12-2", "location", "A03-12-2"),
        ("U000123", "user", "U000123"),
        ("T00042", "tote", "T00042"),
        ("]C0T00042", "tote", "T00042"),
        ("shelf-label", "text", "shelf-label"),
        ("abcXYZ123", "text", "abcXYZ123"),
    ],
)
def test_internal_codes_by_pattern(raw: str, kind: str, text: str) -> None:
    scan = read_scan(raw, SETUP)
    assert (scan.kind, scan.text) == (kind, text)


def test_prefix_and_suffix_are_stripped() -> None:
    setup = ScannerSetup(prefix="#", suffix="$", patterns=SETUP.patterns)
    assert read_scan("#A03-12-2$", setup).kind == "location"
    assert read_scan("#4006381333931$", setup).gtin == "04006381333931"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("4006381333932", "bad_check_digit"),
        ("036000291453", "bad_check_digit"),
        ("376104250021234560", "bad_check_digit"),
        ("]C1010061414199999617251399", "malformed_gs1"),  # no 13th month
        ("]C10112345", "malformed_gs1"),  # a GTIN of 5 digits
        ("(01)00614141999997", "bad_check_digit"),  # inside the element string
        ("]C100376104250021234560", "bad_check_digit"),
        ("(98)ABC(01)x", "malformed_gs1"),
        ("", "empty"),
        ("\r\n", "empty"),
        ("abc\x07def", "control_character"),
        ("abc\x00", "control_character"),
        ("x" * 10_000_000, "too_long"),
    ],
)
def test_bad_scans_are_refused_with_a_reason(raw: str, code: str) -> None:
    with pytest.raises(ScanError) as refused:
        read_scan(raw, SETUP)
    assert refused.value.code == code
    assert refused.value.message


@given(st.text(max_size=80))
@settings(max_examples=500)
def test_any_text_is_read_or_refused_with_a_scan_error(raw: str) -> None:
    try:
        scan = read_scan(raw, SETUP)
    except ScanError as refused:
        assert refused.code and refused.message
    else:
        assert scan.raw == raw and scan.kind


@given(st.text(alphabet="0123456789()" + GS + "~]CdEQ13", max_size=60))
@settings(max_examples=500)
def test_any_gs1_lookalike_is_read_or_refused_with_a_scan_error(raw: str) -> None:
    with contextlib.suppress(ScanError):
        read_scan(raw, SETUP)


# What a person must never be shown: a regular expression, a library's own wording, a repr.
MACHINE_WORDS = re.compile(r"\\d|\^|\$'|\(\?:|Failed to|pattern|Expected|'\\x|Error|\{\d")


@given(st.text(alphabet="0123456789()" + GS + "]CdeQ1ABxyz-\x07\x00\r", max_size=60))
@settings(max_examples=800)
def test_a_refusal_is_said_in_floor_words(raw: str) -> None:
    try:
        read_scan(raw, SETUP)
    except ScanError as refused:
        assert not MACHINE_WORDS.search(refused.message), refused.message
        assert refused.message.endswith("."), refused.message


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("]C1010061414100009817251399", "expiry date (17) reads 251399, which is not a date"),
        ("]C1019506000134353", "GTIN (01) reads 9506000134353, which is not 14 digits"),
        ("]C1(01)00614141000099", "GTIN (01) 00614141000099 has a wrong check digit"),
        ("4006381333932", "4006381333932 is not a valid barcode: its check digit is wrong"),
        ("(37)abc", "count (37) reads abc, which is not up to 8 digits"),
    ],
)
def test_a_refusal_names_the_part_that_is_wrong(raw: str, said: str) -> None:
    with pytest.raises(ScanError) as refused:
        read_scan(raw, SETUP)
    assert said in refused.value.message


@given(st.text("0123456789", min_size=12, max_size=12), st.sampled_from(["", "]E0", "]C0", "]X0"]))
def test_a_valid_ean13_reads_the_same_with_or_without_an_aim_identifier(
    payload: str, aim: str
) -> None:
    ean = with_check_digit(payload)
    assert read_scan(aim + ean).gtin == ean.zfill(14)
