"""`warehouse import orders`: channel orders from a CSV file, one row per order line.

The rows of one order are consecutive and share its external id. The file is read as a
stream, so memory stays flat for any size; orders are taken and committed in batches
(`orders.take_orders`), and a bad order is reported with its line numbers and leaves no
trace while the good ones around it are kept. Running the same file again adds nothing:
intake is idempotent on (channel, external id).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import marshmallow as ma
from sqlalchemy.orm import Session, sessionmaker

from warehouse.channels import get_channel
from warehouse.db import begin_write
from warehouse.errors import WarehouseError
from warehouse.limits import DEFAULT_MAX_LINES
from warehouse.order_input import OrderIn, OrderInput
from warehouse.orders import take_orders

SHIP_TO = ("name", "street1", "street2", "city", "region", "postal_code", "country")
REQUIRED = ("external_id", "sku", "qty", "ship_to_name", "ship_to_street1", "ship_to_city",
            "ship_to_postal_code", "ship_to_country")  # fmt: skip
OPTIONAL = ("unit_price", "ship_to_street2", "ship_to_region", "ship_by")


class BadFile(ValueError):
    """The file as a whole cannot be read as an order file (its header, its encoding)."""


@dataclass(frozen=True)
class Rejected:
    line: int
    external_id: str
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    already_there: int = 0
    lines: int = 0
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]
    problem: str = ""  # why the row could not be read at all


def _decoded(stream: IO[bytes], progress: Callable[[int], None]) -> Iterator[str]:
    for number, raw in enumerate(stream, start=1):
        progress(len(raw))
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise BadFile(f"line {number} is not UTF-8 text") from None


def _rows(lines: Iterable[str]) -> Iterator[_Row]:
    reader = csv.reader(lines, strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise BadFile("the file is empty") from None
    except csv.Error as exc:
        raise BadFile(f"line 1: {exc}") from None
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        raise BadFile(
            "wrong header: "
            + "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unknown {', '.join(unknown)}" if unknown else "",
                    "a column twice" if len(set(header)) != len(header) else "",
                )
                if part
            )
            + f". Columns: {', '.join(REQUIRED + OPTIONAL)}"
        )
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _Row(reader.line_num, {}, f"not valid CSV: {exc}")
            continue
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            yield _Row(
                reader.line_num, {}, f"{len(values)} fields where the header has {len(header)}"
            )
            continue
        yield _Row(reader.line_num, dict(zip(header, (v.strip() for v in values), strict=True)))


def _orders(rows: Iterable[_Row]) -> Iterator[list[_Row]]:
    """Consecutive rows with the same external id, one list per order."""
    group: list[_Row] = []
    for row in rows:
        if group and (row.problem or row.values["external_id"] != group[0].values["external_id"]):
            yield group
            group = []
        if row.problem:
            yield [row]  # an unreadable row is refused alone
        else:
            group.append(row)
    if group:
        yield group


def _order_json(group: list[_Row]) -> dict[str, Any]:
    """The order as the API's JSON, so that one schema checks both ways in."""
    first = group[0].values
    for row in group:
        if row.problem:
            raise _RowError(row.line, row.problem)
        for key in (*(f"ship_to_{part}" for part in SHIP_TO), "ship_by"):
            if row.values.get(key, "") != first.get(key, ""):
                raise _RowError(
                    row.line, f"{key} differs from line {group[0].line} of the same order"
                )
    lines = []
    for row in group:
        qty = row.values["qty"]
        line: dict[str, Any] = {"sku": row.values["sku"], "qty": int(qty) if _is_int(qty) else qty}
        if row.values.get("unit_price"):
            line["unit_price"] = row.values["unit_price"]
        lines.append(line)
    ship_to = {part: first[f"ship_to_{part}"] for part in SHIP_TO if first.get(f"ship_to_{part}")}
    body: dict[str, Any] = {"external_id": first["external_id"], "lines": lines, "ship_to": ship_to}
    if first.get("ship_by"):
        body["ship_by"] = first["ship_by"]
    return body


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


class _RowError(Exception):
    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line, self.reason = line, reason


def _line_of(group: list[_Row], field_name: str | None) -> int:
    """The file line a field of the order JSON came from (lines[2].qty -> the third row)."""
    if field_name and field_name.startswith("lines[") and "]" in field_name:
        index = int(field_name[6 : field_name.index("]")])
        if index < len(group):
            return group[index].line
    return group[0].line


def _first_problem(messages: Any, path: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        name = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
        return _first_problem(value, name)
    if isinstance(messages, list) and messages:
        return _first_problem(messages[0], path)
    return path, str(messages)


def import_orders(
    factory: sessionmaker[Session],
    channel_code: str,
    stream: IO[bytes],
    batch_size: int = 500,
    progress: Callable[[int], None] = lambda _: None,
    max_lines: int = DEFAULT_MAX_LINES,
) -> ImportReport:
    """Take every order of the file; returns what was stored and every order refused, by line."""
    report = ImportReport()
    schema = OrderIn()
    with factory() as session:
        begin_write(session)
        get_channel(session, channel_code)  # an unknown channel stops the import at once
        batch: list[tuple[list[_Row], OrderInput]] = []

        def flush() -> None:
            outcomes = take_orders(session, channel_code, [order for _, order in batch], max_lines)
            for (group, order), outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, WarehouseError):
                    line = _line_of(group, outcome.field)
                    report.rejected.append(Rejected(line, order.external_id, outcome.message))
                elif outcome.created:
                    report.created += 1
                    report.lines += len(group)
                else:
                    report.already_there += 1
            session.commit()
            session.expunge_all()
            begin_write(session)
            batch.clear()

        for group in _orders(_rows(_decoded(stream, progress))):
            external_id = group[0].values.get("external_id", "")
            try:
                batch.append((group, schema.load(_order_json(group))))
            except _RowError as exc:
                report.rejected.append(Rejected(exc.line, external_id, exc.reason))
            except ma.ValidationError as exc:
                where, message = _first_problem(exc.messages)
                report.rejected.append(
                    Rejected(_line_of(group, where), external_id, f"{where}: {message}")
                )
            if len(batch) >= batch_size:
                flush()
        flush()
    report.rejected.sort(key=lambda rejected: rejected.line)
    return report
