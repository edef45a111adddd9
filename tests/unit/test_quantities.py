"""A typed number of units: whole, within the step's bounds, and never a scanned barcode."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warehouse.errors import InvalidInput
from warehouse.quantities import check_units, parse_units


@pytest.mark.parametrize(
    ("value", "least", "most", "code"),
    [
        (6141410000981, 1, None, "barcode_as_quantity"),  # an EAN-13 scanned into Units
        (40614141000150, 0, None, "barcode_as_quantity"),  # a GTIN-14 into a count
        (12345670, 1, None, "barcode_as_quantity"),  # an EAN-8
        (-12345670, 1, None, "barcode_as_quantity"),
        (0, 1, None, "invalid_input"),
        (-3, 1, None, "invalid_input"),
        (11, 1, 10, "too_many"),
        (1_000_000, 1, None, "too_many"),  # no step takes more than limits.MAX_UNITS
        (True, 1, None, "invalid_input"),
        (2.5, 1, None, "invalid_input"),
        ("4", 1, None, "invalid_input"),
        (None, 1, None, "invalid_input"),
    ],
)
def test_quantities_refused(value: Any, least: int, most: int | None, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_units(value, "qty", least=least, most=most)
    assert refused.value.code == code and refused.value.field == "qty"


@pytest.mark.parametrize(("value", "least", "most"), [(1, 1, None), (0, 0, 5), (999_999, 1, None)])
def test_quantities_taken(value: int, least: int, most: int | None) -> None:
    assert check_units(value, "qty", least=least, most=most) == value


@pytest.mark.parametrize("text", ["", " ", "abc", "1.5", "1e3", "٣", "+4", "0x10"])
def test_typed_text_that_is_not_a_whole_number(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_units(text, "qty")


@given(st.integers(min_value=10**7, max_value=10**20))
def test_no_number_of_eight_digits_or_more_is_ever_a_quantity(value: int) -> None:
    with pytest.raises(InvalidInput, match="looks like a scanned barcode"):
        parse_units(str(value), "qty", most=10**30)
