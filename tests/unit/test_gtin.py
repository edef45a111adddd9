"""GTIN check digits and the normalized form every barcode lookup uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanners.gtin import InvalidGtin, looks_like_gtin, normalize_gtin, with_check_digit


@pytest.mark.parametrize(
    ("code", "gtin14"),
    [
        ("036000291452", "00036000291452"),  # UPC-A
        ("0036000291452", "00036000291452"),  # the same as EAN-13
        ("00036000291452", "00036000291452"),  # and as GTIN-14
        ("4006381333931", "04006381333931"),  # EAN-13
        ("96385074", "00000096385074"),  # EAN-8
        ("10614141000033", "10614141000033"),  # a case GTIN-14
    ],
)
def test_every_form_normalizes_to_gtin14(code: str, gtin14: str) -> None:
    assert normalize_gtin(code) == gtin14


@pytest.mark.parametrize("code", ["036000291453", "4006381333932", "96385075", "10614141000034"])
def test_a_wrong_check_digit_is_refused(code: str) -> None:
    with pytest.raises(InvalidGtin, match="check digit"):
        normalize_gtin(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "12345",
        "ABCDEFGHIJKL",
        "\u0660\u0663\u0666\u0660\u0660\u0660\u0662\u0669",
        "1234567890123456",
    ],
)
def test_what_is_not_gtin_shaped_is_refused(code: str) -> None:
    assert not looks_like_gtin(code)
    with pytest.raises(InvalidGtin):
        normalize_gtin(code)


@given(
    st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text("0123456789", min_size=n, max_size=n)
    )
)
def test_a_made_check_digit_always_validates(payload: str) -> None:
    code = with_check_digit(payload)
    assert normalize_gtin(code) == code.zfill(14)
    assert normalize_gtin(normalize_gtin(code)) == normalize_gtin(code)


@given(st.text("0123456789", min_size=13, max_size=13), st.integers(1, 9))
def test_any_single_wrong_digit_is_caught(payload: str, shift: int) -> None:
    good = with_check_digit(payload)
    bad = good[:-1] + str((int(good[-1]) + shift) % 10)
    with pytest.raises(InvalidGtin):
        normalize_gtin(bad)
