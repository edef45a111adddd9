"""What the pages share: a page drawn with its outcome's sound, the signed-in person, and a
typed whole number (an id picked on a desk page)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from warehouse.errors import InvalidInput
from warehouse.limits import MAX_ID
from warehouse.models import User
from warehouse.web import current_user


def page(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
    """A page, with the sound of its outcome (bad when it shows an error)."""
    values.setdefault("outcome", "bad" if values.get("error") else None)
    return render_template(template, **values), status


def signed_in() -> User:
    """The person the page serves (pages need one to be shown at all)."""
    user = current_user()
    assert user is not None
    return user


def whole_number(text: str | None, name: str, least: int, most: int = MAX_ID) -> int:
    """A typed whole number from `least` to `most` (an id's range unless told)."""
    try:
        value = int(text or "")
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", field=name) from None
    if value < least:
        raise InvalidInput(f"{name} must be {least} or more", field=name)
    if value > most:
        raise InvalidInput(f"{name} must be {most} or less", field=name)
    return value
