"""What every handheld page shares: a page with a fresh scan id and the sound of its outcome,
posted scans resolved (or acted on) once per scan id and logged, and typed whole numbers.

Each scan is one form post carrying a scan id (static/scan.js makes it; the page also renders
one, so a resubmitted form is answered from the scan log instead of being applied twice). A
page answers every scan with the next step and a good or bad sound; a refused scan changes
nothing but the scan log, which is committed whatever the outcome.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import render_template, request

from warehouse import scanning
from warehouse.errors import InvalidInput
from warehouse.models import User
from warehouse.scanning import Logged, Outcome, Resolved, ScanContext
from warehouse.web import config, current_user, db, transaction, write_now


def page(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
    """A page with a fresh scan id for its next post, and the sound of its outcome."""
    values.setdefault("outcome", "bad" if values.get("error") else None)
    rendered = render_template(
        template,
        scan_id=secrets.token_hex(16),
        gs_standin=config().scanners.gs_standin,
        **values,
    )
    return rendered, status


def signed_in() -> User:
    """The person the page serves (pages need one to be shown at all)."""
    user = current_user()
    assert user is not None
    return user


def scan_context(source: str) -> ScanContext:
    """Who posted the scan, through which flow, with the client's scan id."""
    return ScanContext(
        user=current_user(),
        source=source,
        scan_id=request.form.get("scan_id") or None,
        entry=request.form.get("entry") or None,
    )


def resolve_posted(source: str) -> Outcome[Resolved]:
    """What the posted scan names, logged (refused or not) with the write lock held for the
    log entry only."""
    setup = scanning.scanner_setup(config())
    with transaction(write=False):
        return scanning.resolve_scan(
            db(), request.form.get("code", ""), setup, scan_context(source), then_write=write_now
        )


def scanned(raw: str) -> Resolved:
    """What a posted scan names (refused as the parser refuses it)."""
    return scanning.read_and_match(db(), raw, scanning.scanner_setup(config()))


def act_on_scan(source: str, raw: str, act: Callable[[], Logged]) -> Outcome[Logged]:
    """Do what the posted scan does, once per scan id, logged accepted or refused."""
    with transaction() as session:
        return scanning.record_scan(session, raw, scan_context(source), act)


def whole_number(text: str | None, name: str, least: int) -> int:
    """A typed number of units, at least `least`."""
    try:
        value = int(text or "")
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", field=name) from None
    if value < least:
        raise InvalidInput(f"{name} must be {least} or more", field=name)
    return value
