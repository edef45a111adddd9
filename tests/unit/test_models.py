"""The models' own rules: every status fits its column (PostgreSQL refuses what SQLite keeps)."""

from __future__ import annotations

import pytest
from sqlalchemy import Column

from warehouse.models import Base, StrEnumType

STATUS_COLUMNS = [
    column
    for table in Base.metadata.tables.values()
    for column in table.columns
    if isinstance(column.type, StrEnumType)
]


def test_there_are_status_columns() -> None:
    assert len(STATUS_COLUMNS) >= 6


@pytest.mark.parametrize("column", STATUS_COLUMNS, ids=lambda c: f"{c.table.name}.{c.name}")
def test_every_status_fits_its_column(column: Column[object]) -> None:
    kind = column.type
    assert isinstance(kind, StrEnumType)
    longest = max(kind.enum, key=len)
    assert len(longest) <= kind.length, f"{longest!r} is longer than {kind.length}"
