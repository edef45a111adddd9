"""The floor flows, each a small state machine per person driven by scans and buttons: what
a scan or a button does at each step of receiving, counting, looking up, picking, packing,
loading at the dock, and taking returns. See `flows.core` for what they share."""

from __future__ import annotations

from warehouse.flows import count, dock, lookup, pack, pick, receive, returns
from warehouse.flows.core import Flow

FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        receive.FLOW, count.FLOW, lookup.FLOW, pick.FLOW, pack.FLOW, dock.FLOW, returns.FLOW,
    )
}  # fmt: skip
