"""What every floor flow shares: a scan or a button press (an event) applied once per client id,
in the flow's state kept for the person, and what to tell them.

A flow is a small state machine per person: receive (the bin, the item in hand), count (the
bin and what was counted), pick (the list and the stop), pack, dock, returns, lookup. Its
state lives in the database (FloorState), so that scans queued on a handheld while offline,
or across an idle sign-out, are applied in order where they were meant, and the flow goes on
where it was after signing in again. A refused event raises, is logged, and changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse.config import Config
from warehouse.db import insert_or_skip
from warehouse.errors import InvalidInput
from warehouse.models import FloorState, User, utcnow
from warehouse.scanning import (
    Logged,
    Outcome,
    Resolved,
    ScanContext,
    read_and_match,
    record_scan,
    scanner_setup,
)

State = dict[str, Any]
# A button and what was typed with it: the fields of the panel it belongs to.
Values = dict[str, Any]

# Outcomes a step may have; a refusal is raised instead. "warn": done, but look (a hold, a
# cancel): never shown green.
OUTCOMES = ("good", "warn")
MAX_VALUE = 200


@dataclass(frozen=True)
class Step:
    """What a scan or a button did: the flow's state after it, and the sentence for the worker."""

    state: State
    message: str
    outcome: str = "good"


@dataclass(frozen=True)
class FlowEvent:
    """A scan (the raw code and how it was entered) or a button (its action and values)."""

    scan_id: str
    code: str | None = None
    entry: str | None = None
    action: str | None = None
    values: Values = field(default_factory=dict)


ScanHandler = Callable[[Session, User, State, Resolved, Config], Step]
ActionHandler = Callable[[Session, User, State, str, Values, Config], Step]


@dataclass(frozen=True)
class Flow:
    """A floor flow: its name, the permission it needs, and what a scan and a button do."""

    name: str
    permission: str
    on_scan: ScanHandler
    on_action: ActionHandler


def state_of(session: Session, user: User, flow: str) -> State:
    """The person's state in a flow (empty when they have not started it)."""
    found = session.scalar(
        select(FloorState.state).where(FloorState.user_id == user.id, FloorState.flow == flow)
    )
    return dict(found or {})


def _locked_state(session: Session, user: User, flow: str) -> FloorState:
    """The person's state row, made if new and locked for this transaction, so two events of
    one person in one flow are applied one after the other."""
    session.execute(
        insert_or_skip(session, FloorState, ["user_id", "flow"]),
        {"user_id": user.id, "flow": flow, "state": {}, "updated_at": utcnow()},
    )
    return session.scalars(
        select(FloorState)
        .where(FloorState.user_id == user.id, FloorState.flow == flow)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def save_state(session: Session, user: User, flow: str, state: State) -> None:
    """Keep a flow's state for the person (a page's own change of it, such as a station)."""
    row = _locked_state(session, user, flow)
    row.state, row.updated_at = state, utcnow()
    session.flush()


def typed(values: Values, name: str) -> str:
    """A value typed into a panel, as text (a button's values are the panel's fields)."""
    value = values.get(name, "")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidInput(f"{name} is not text", field=name)
    text = str(value).strip()
    if len(text) > MAX_VALUE:
        raise InvalidInput(f"{name} is {MAX_VALUE} characters at most", field=name)
    return text


def unknown_action(flow: str, action: str) -> InvalidInput:
    """A button the flow does not have (an old page, a program's mistake)."""
    return InvalidInput(f"{flow} has no button {action!r}.", field="action", code="unknown_action")


def handle(
    session: Session, user: User, flow: Flow, event: FlowEvent, config: Config, source: str
) -> Outcome[Logged]:
    """Apply a scan or a button to the person's state in a flow, once per client id: a repeat
    is answered as the first time. The event is logged accepted or refused; a refusal
    changes nothing else."""
    row = _locked_state(session, user, flow.name)
    setup = scanner_setup(config)

    def act() -> Logged:
        # A copy: a refused event must leave the kept state as it was.
        state = copy.deepcopy(row.state or {})
        if event.code is not None:
            step = flow.on_scan(
                session, user, state, read_and_match(session, event.code, setup), config
            )
        elif event.action:
            step = flow.on_action(session, user, state, event.action, event.values, config)
        else:
            raise InvalidInput("Send a scan (code) or a button (action).", field="code")
        row.state, row.updated_at = step.state, utcnow()
        session.flush()
        return {"kind": flow.name, "outcome": step.outcome, "message": step.message}

    raw = event.code if event.code is not None else f"{flow.name}: {event.action}"
    context = ScanContext(user=user, source=source, scan_id=event.scan_id, entry=event.entry)
    return record_scan(session, raw, context, act)
