"""Counting a bin: scan the bin, then scan each item (or type a count, or say none is here for
an item); the books are not shown. Finish books the bin: nothing is finished by a stray key,
and an item not counted stops the finish rather than being written off. A difference too
large for one person's count waits for a second count or a supervisor.

State: {"location": bin code or absent, "lines": [{"sku", "lot", "name", "counted": units
or null}]}.
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.orm import Session

from warehouse import counting
from warehouse.config import Config
from warehouse.counting import BinCount, CountLine
from warehouse.errors import Conflict, InvalidInput
from warehouse.flows.core import Flow, State, Step, Values, typed, unknown_action
from warehouse.models import User
from warehouse.quantities import check_units, parse_units
from warehouse.scanning import Resolved
from warehouse.stock import LocationContents, look_up


def _bin(state: State) -> BinCount:
    return BinCount(state["location"], [CountLine(**line) for line in state.get("lines", [])])


def _state(counting_now: BinCount) -> State:
    return {
        "location": counting_now.location,
        "lines": [asdict(line) for line in counting_now.lines],
    }


def on_scan(session: Session, user: User, state: State, scanned: Resolved, config: Config) -> Step:
    now = _bin(state) if state.get("location") else None
    if scanned.kind == "location" and (now is None or not now.started):
        found = look_up(session, scanned.location or "")
        assert isinstance(found, LocationContents)
        started = BinCount.of(found)
        return Step(
            _state(started),
            f"Counting {started.location}: scan each item, or type its count; "
            "say none is here for an item you do not find.",
        )
    if now is None:
        what = "nothing this warehouse knows" if scanned.kind == "unknown" else "not a bin"
        raise InvalidInput(
            f"Scan the bin to count first: {scanned.label} is {what}.",
            field="code",
            code="bin_first",
        )
    if scanned.kind == "location":
        raise Conflict(
            f"Finish the count of {now.location} first (or cancel it), then scan {scanned.location}.",
            code="count_in_hand",
        )
    if scanned.kind != "product":
        raise InvalidInput(
            f"{scanned.label} is not an item this warehouse knows: put it aside.",
            field="code",
            code="not_an_item",
        )
    line = now.add(scanned)
    check_units(
        line.counted,
        "counted",
        least=0,
        most=config.receiving.max_units,
        name=f"The count of {line.sku}",
    )
    return Step(_state(now), f"{line.sku}: {line.counted}.")


def _line(now: BinCount, values: Values) -> CountLine:
    sku, lot = typed(values, "sku"), typed(values, "lot")
    found = next((line for line in now.lines if line.sku == sku and line.lot == lot), None)
    if found is None:
        raise InvalidInput(f"{sku} is not on this count.", field="sku")
    return found


def on_action(
    session: Session, user: User, state: State, action: str, values: Values, config: Config
) -> Step:
    if action == "cancel":
        return Step({}, "Count cancelled: nothing was booked.", "warn")
    if not state.get("location"):
        raise Conflict("Scan the bin to count first.", code="bin_first")
    now = _bin(state)
    if action == "set":
        line = _line(now, values)
        line.counted = parse_units(
            typed(values, "counted"),
            "counted",
            least=0,
            most=config.receiving.max_units,
            name=f"The count of {line.sku}",
        )
        return Step(_state(now), f"{line.sku}: {line.counted}.")
    if action == "none":
        line = _line(now, values)
        line.counted = 0
        return Step(_state(now), f"{line.sku}: none here.")
    if action != "finish":
        raise unknown_action("Count", action)
    counted = {(line.sku, line.lot): line.counted for line in now.lines if line.counted is not None}
    results = counting.count_location(
        session, user, now.location, counted, config.counting, most=config.receiving.max_units
    )
    changes = ", ".join(
        f"{r.sku} {r.difference:+d}" for r in results if r.movement and r.difference
    )
    waiting = [r for r in results if r.waiting]
    if waiting:
        held = ", ".join(f"{r.sku} {r.difference:+d}" for r in waiting)
        return Step(
            {},
            f"Counted {now.location}: {changes or 'no other differences'}. Too large to book on "
            f"one count: {held}; count the bin again, or ask a supervisor to approve.",
            "warn",
        )
    # Stock written off is never shown green.
    lost = any(r.movement and r.difference < 0 for r in results)
    return Step(
        {},
        f"Counted {now.location}: {changes or 'no differences'}. Scan the next bin.",
        "warn" if lost else "good",
    )


FLOW = Flow("count", "stock.count", on_scan, on_action)
