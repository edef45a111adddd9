"""labels/ without rendering: SSCCs, the ZPL of shipping labels read back with a small
tokenizer (structure, escaping, barcode geometry), and the errors. Rendered round trips are
in test_labels_render.py; its builders and ZPL readers are here."""

from __future__ import annotations

import random
import re
import string
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labels.barcodes import LabelError, pdf_modules, zpl_code128
from labels.shipping import Address, ShippingLabel, to_pdf, to_zpl
from labels.sscc import sscc, sscc_text
from labels.text import printable

# Names a label must print as text and never obey.
HOSTILE = [
    "^XA^FO0,0^FDHACK^FS^XZ",
    "~JR",
    "~JA~JR^XZ^XA",
    "Robert_5E_7E_5F",
    "back\\&slash \\\\",
    ">;>8 >0 ><",
    "line\r\nbreak^XZ",
    "\x00\x1b~DGR:X.GRF,1,1,FF\x7f",
    "\u2028^FS\u0085~JR",
    "lone \ud800 surrogate",
]
FOREIGN = ["Zoë Saldaña", "Łódź Wierzbowa", "東京都 千代田区", "Ἀθῆναι", "Москва", "📦 Ørsted"]
TRACKINGS = ["1Z999AA10123456784", "9400111899223197428490", "WH0000000042", "LX123456789CN"]


def gs1_check_digit(payload: str) -> int:
    """GS1's mod-10, written out here so the tests do not trust the code they test."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return (10 - total % 10) % 10


def make_address(name: str | None = None, **fields: str) -> Address:
    reference = random.randrange(10**6)
    values = {
        "name": name if name is not None else f"Customer {reference}",
        "street1": f"{reference % 999 + 1} Main Street",
        "street2": "",
        "city": "Springfield",
        "region": "IL",
        "postal_code": f"{reference % 90000 + 10000}",
        "country": "US",
    }
    return Address(**{**values, **fields})


def make_label(**fields: object) -> ShippingLabel:
    """A label with random references; `fields` replace any of its values."""
    cartons = random.randint(1, 9)
    serial = random.randrange(10**9)
    letters = string.ascii_uppercase + string.digits
    values: dict[str, object] = {
        "ship_from": make_address("Demo Warehouse"),
        "ship_to": make_address(),
        "order_ref": f"ORD-{random.randrange(10**8):08d}",
        "channel": random.choice(["web", "amazon", "ebay"]),
        "carton_no": random.randint(1, cartons),
        "cartons": cartons,
        "weight_kg": Decimal(random.randint(1, 40_000)) / 1000,
        "tracking": "1Z" + "".join(random.choices(letters, k=16)),
        "sscc": sscc("0614141", serial, random.randint(0, 9)),
    }
    return ShippingLabel(**{**values, **fields})  # type: ignore[arg-type]


# --- reading ZPL back -------------------------------------------------------------------------

ALLOWED = {"^XA", "^CI", "^PW", "^LL", "^LH", "^FO", "^A0", "^GB", "^BY", "^BC", "^FH", "^FD",
           "^FS", "^XZ"}  # fmt: skip
# ZPL ^BC invocation codes for characters that cannot stand in field data as themselves.
INVOCATIONS = {">0": ">", "><": "^", ">=": "~"}


def commands(zpl: str) -> list[tuple[str, str]]:
    """(command, parameters) for each command: a command runs to the next ^ or ~, so a raw ^
    or ~ in field data shows here as a command of its own."""
    found = []
    for token in re.split(r"(?=[\^~])", zpl):
        if token.strip():
            assert token[0] in "^~", f"text outside any command: {token!r}"
            found.append((token[:3], token[3:].removesuffix("\n")))
    return found


def unescape(data: str) -> str:
    """Field data as the printer reads it under ^FH: each _hh a byte, the bytes UTF-8."""
    assert "_" not in re.sub(r"_[0-9A-F]{2}", "", data), f"a bare _ in {data!r}"
    raw = re.sub(rb"_([0-9A-F]{2})", lambda m: bytes.fromhex(m[1].decode()), data.encode())
    return raw.decode("utf-8")


def fields(zpl: str) -> list[str]:
    """The text of every ^FD field, unescaped."""
    return [unescape(data) for name, data in commands(zpl) if name == "^FD"]


def symbol(data: str) -> tuple[str, bool, int]:
    """What a ^BC field (mode N) encodes: its text, whether FNC1 follows the start code, and
    the symbol's width in modules (11 a character, check digit included, 13 the stop)."""
    start, body = data[:2], data[2:]
    gs1 = body.startswith(">8")
    body = body.removeprefix(">8")
    if start == ">;":
        assert body.isdigit() and len(body) % 2 == 0, data
        text, characters = body, len(body) // 2
    else:
        assert start == ">:", data
        tokens = re.findall(r">.|[^>]", body)
        assert all(len(t) == 1 or t in INVOCATIONS for t in tokens), data
        text, characters = "".join(INVOCATIONS.get(t, t) for t in tokens), len(tokens)
    return text, gs1, (1 + int(gs1) + characters + 1) * 11 + 13


def barcodes(zpl: str) -> list[tuple[int, int, str, bool, int]]:
    """(x, module, text, gs1, modules) of each barcode: ^FO x, ^BY module, ^BC, ^FH, ^FD."""
    listed = commands(zpl)
    found = []
    for i, (name, _) in enumerate(listed):
        if name == "^BC":
            assert [c for c, _ in listed[i - 2 : i + 3]] == ["^FO", "^BY", "^BC", "^FH", "^FD"]
            x = int(listed[i - 2][1].split(",")[0])
            module = int(listed[i - 1][1])
            assert listed[i][1].split(",")[1:] == [listed[i][1].split(",")[1], "N", "N", "N", "N"]
            found.append((x, module, *symbol(unescape(listed[i + 2][1]))))
    return found


# --- SSCC -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "serial", "extension", "expected"),
    [
        # GS1 General Specifications' example, and the ZPL manual's (00) 0 0614141 123456789 0.
        ("0614141", 234567890, 1, "106141412345678908"),
        ("0614141", 123456789, 0, "006141411234567890"),
    ],
)
def test_sscc_published_examples(prefix: str, serial: int, extension: int, expected: str) -> None:
    assert sscc(prefix, serial, extension) == expected


@pytest.mark.parametrize(
    ("prefix", "serial", "extension", "payload"),
    [
        ("0614141", 0, 0, "00614141000000000"),
        ("0614141", 999_999_999, 9, "90614141999999999"),
        ("06141419", 12345678, 3, "30614141912345678"),
        ("061414199", 42, 5, "50614141990000042"),
        ("0614141999", 123456, 0, "00614141999123456"),
    ],
)
def test_sscc(prefix: str, serial: int, extension: int, payload: str) -> None:
    assert sscc(prefix, serial, extension) == payload + str(gs1_check_digit(payload))


@pytest.mark.parametrize(
    ("prefix", "serial", "extension", "code"),
    [
        ("061414", 1, 0, "bad_company_prefix"),
        ("06141412345", 1, 0, "bad_company_prefix"),
        ("06141a1", 1, 0, "bad_company_prefix"),
        # Full-width digits, which str.isdigit() takes for digits.
        ("\uff10\uff16\uff11\uff14\uff11\uff14\uff11", 1, 0, "bad_company_prefix"),
        ("", 1, 0, "bad_company_prefix"),
        ("0614141", -1, 0, "serial_out_of_range"),
        ("0614141", 10**9, 0, "serial_out_of_range"),
        ("0614141999", 10**6, 0, "serial_out_of_range"),
        ("0614141", 1, 10, "bad_extension"),
        ("0614141", 1, -1, "bad_extension"),
    ],
)
def test_sscc_refuses(prefix: str, serial: int, extension: int, code: str) -> None:
    with pytest.raises(ValueError) as raised:
        sscc(prefix, serial, extension)
    assert isinstance(raised.value, LabelError) and raised.value.code == code


def test_sscc_text() -> None:
    assert sscc_text("106141412345678908") == "(00) 1 0614141 234567890 8"
    with pytest.raises(LabelError):
        sscc_text("106141412345678907")  # wrong check digit
    with pytest.raises(LabelError):
        sscc_text("10614141234567890")


# --- ZPL --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [203, 300])
def test_zpl_structure(dpi: int) -> None:
    zpl = to_zpl(make_label(), dpi)
    listed = commands(zpl)
    names = [name for name, _ in listed]
    assert names[0] == "^XA" and names[-1] == "^XZ"
    assert names.count("^XA") == 1 and names.count("^XZ") == 1
    assert ("^CI", "28") in listed and names.index("^CI") < names.index("^FD")
    assert ("^PW", str(4 * dpi)) in listed and ("^LL", str(6 * dpi)) in listed
    assert set(names) <= ALLOWED
    assert not [name for name in names if name.startswith("~")]
    for i, name in enumerate(names):
        if name == "^FD":
            assert names[i - 1] == "^FH" and names[i + 1] == "^FS"
    for value in fields(zpl):
        assert value.isprintable() or value == "", value


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("tracking", [*TRACKINGS, "A" * 30, "1" * 48, "a>b^c~d_e f>", "42"])
def test_zpl_barcodes(dpi: int, tracking: str) -> None:
    label = make_label(tracking=tracking)
    zpl = to_zpl(label, dpi)
    found = barcodes(zpl)
    assert [(text, gs1) for _, _, text, gs1, _ in found] == [
        (tracking, False),
        ("00" + label.sscc, True),
    ]
    width = 4 * dpi
    for x, module, _, gs1, modules in found:
        assert module in ((2, 3, 4) if dpi == 203 else (3, 4, 5, 6))
        if gs1:  # GS1's X-dimension for logistic labels, 0.495 mm at least
            assert module * 25.4 / dpi >= 0.495
        assert x >= 10 * module, "left quiet zone"
        assert x + modules * module + 10 * module <= width, "right quiet zone"
    # Each barcode's text is printed under it: the SSCC as GS1 groups it.
    assert tracking in fields(zpl)
    assert sscc_text(label.sscc) in fields(zpl)
    assert sscc_text(label.sscc).startswith("(00) ")


def test_zpl_sscc_is_gs1_128() -> None:
    label = make_label(sscc="106141412345678908")
    data = [data for name, data in commands(to_zpl(label)) if data.startswith(">;>8")]
    # Start C, FNC1, then AI 00 and the 18 digits in pairs: what the ZPL manual shows.
    assert data == [">;>800106141412345678908"]


@pytest.mark.parametrize("name", HOSTILE + FOREIGN)
def test_zpl_prints_names_as_text(name: str) -> None:
    label = make_label(ship_to=make_address(name, street1=name, city=name))
    plain = replace(label, ship_to=make_address("Plain Name", street1="1 Road", city="City"))
    zpl = to_zpl(label)
    assert [n for n, _ in commands(zpl)] == [n for n, _ in commands(to_zpl(plain))]
    assert printable(name) in fields(zpl)
    assert printable(name).startswith(printable(name)[:1])  # never emptied by escaping
    if name.isprintable():
        assert name in fields(zpl), "a printable name prints as it is"
    assert "\n" not in "".join(data for n, data in commands(zpl) if n == "^FD")


def test_zpl_non_ascii_is_utf8() -> None:
    zpl = to_zpl(make_label(ship_to=make_address("東京 Zoë")))
    assert "^FH^FD東京 Zoë^FS" in zpl
    zpl.encode("utf-8")  # lone surrogates never reach the output (HOSTILE has one)


def _reference(value: str, marker: str) -> str:
    """A plain stand-in for a field: empty where the field prints empty, so the layout matches."""
    return marker if printable(value) else ""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(),
    street=st.text(),
    city=st.text(),
    country=st.text(max_size=20),
    order_ref=st.text(),
    channel=st.text(),
    tracking=st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=28),
    dpi=st.sampled_from([203, 300]),
)
def test_zpl_any_text_stays_text(
    name: str, street: str, city: str, country: str, order_ref: str, channel: str,
    tracking: str, dpi: int,
) -> None:  # fmt: skip
    to = Address(name, street, "", city, "", "", country)
    label = make_label(ship_to=to, ship_from=to, order_ref=order_ref, channel=channel,
                       tracking=tracking)  # fmt: skip
    plain_to = Address(_reference(name, "N"), _reference(street, "S"), "",
                       _reference(city, "C"), "", "", _reference(country, "K"))  # fmt: skip
    plain = replace(label, ship_to=plain_to, ship_from=plain_to, order_ref="O", channel="W",
                    tracking="T")  # fmt: skip
    zpl, reference = to_zpl(label, dpi), to_zpl(plain, dpi)
    assert [n for n, _ in commands(zpl)] == [n for n, _ in commands(reference)]
    # Field by field, each prints its value, or the start of it and "...".
    expected = {"N": name, "S": street, "C": city, "K": country, "O": order_ref, "W": channel}
    for printed, marker in zip(fields(zpl), fields(reference), strict=True):
        if marker in expected:
            value = printable(expected[marker])
            assert printed == value or (
                printed.endswith("...") and value.startswith(printed[:-3].rstrip())
            ), (printed, value)
    assert barcodes(zpl)[0][2] == tracking


@given(st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=48))
def test_pdf_symbol_never_wider_than_zpl(data: str) -> None:
    # The PDF centres reportlab's symbol where the ZPL one fits with its quiet zones.
    assert pdf_modules(data) <= zpl_code128(data)[1]


# --- refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields_", "code"),
    [
        ({"tracking": ""}, "empty_barcode"),
        ({"tracking": "1Z 東京"}, "not_ascii"),
        ({"tracking": "1Z\n99"}, "not_ascii"),
        ({"tracking": "A" * 49}, "barcode_too_long"),
        ({"tracking": "A" * 40}, "barcode_too_long"),  # fits no module width on 4 in
        ({"sscc": "106141412345678907"}, "bad_sscc"),
        ({"sscc": ""}, "bad_sscc"),
        ({"carton_no": 0}, "bad_carton"),
        ({"carton_no": 3, "cartons": 2}, "bad_carton"),
        ({"weight_kg": -1}, "bad_weight"),
        ({"weight_kg": float("nan")}, "bad_weight"),
        ({"weight_kg": Decimal("NaN")}, "bad_weight"),
    ],
)
def test_label_refused(fields_: dict[str, object], code: str) -> None:
    label = make_label(**fields_)
    for render in (to_zpl, to_pdf):
        with pytest.raises(LabelError) as raised:
            render(label)
        assert raised.value.code == code


def test_dpi_refused() -> None:
    with pytest.raises(LabelError) as raised:
        to_zpl(make_label(), 600)
    assert raised.value.code == "bad_dpi"
