"""The channels page: each channel's settings (priority, stock buffer and share, partial
shipping, handling time, fees, events URL), shown to leads and changed by admins. A form
with a mistake saves nothing and says what is wrong next to each field it concerns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, request

from warehouse import channels
from warehouse.errors import InvalidInput
from warehouse.models import Channel
from warehouse.pages.shared import page, signed_in
from warehouse.roles import allowed
from warehouse.web import db, requires, service_address, transaction, writes_late

bp = Blueprint("channels", __name__)

# The settings of the form, as the API names them.
FIELDS = (
    "name", "priority", "buffer", "share", "ship_partial", "handling_hours", "fee_percent",
    "fee_fixed", "events_url",
)  # fmt: skip


def _plain(number: Decimal) -> str:
    """A stored decimal as a person writes it: 0.5, not 0.5000; 100, not 1E+2."""
    return format(number.normalize(), "f")


def shown(channel: Channel) -> dict[str, str]:
    """A channel's settings as the form shows them."""
    return {
        "name": channel.name,
        "priority": str(channel.priority),
        "buffer": str(channel.buffer),
        "share": _plain(channel.share),
        "ship_partial": "on" if channel.ship_partial else "",
        "handling_hours": "" if channel.handling_hours is None else str(channel.handling_hours),
        "fee_percent": _plain(channel.fee_percent),
        "fee_fixed": _plain(channel.fee_fixed),
        "events_url": channel.events_url or "",
    }


def _whole(text: str, words: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{words} must be a whole number, such as 100.") from None


def _decimal(text: str, words: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise InvalidInput(f"{words} must be a number written with a point, such as 0.5.")
    return number


# Each setting typed: its words in a message, how its text is read, and its value when empty.
_TYPED: dict[str, tuple[str, Callable[[str, str], Any], Any]] = {
    "priority": ("Priority", _whole, 100),
    "buffer": ("Buffer", _whole, 0),
    "share": ("Share", _decimal, Decimal(1)),
    "handling_hours": ("Handling hours", _whole, None),
    "fee_percent": ("Fee percent", _decimal, Decimal(0)),
    "fee_fixed": ("Fixed fee", _decimal, Decimal(0)),
}


def read_form(form: Mapping[str, str]) -> tuple[dict[str, Any], list[InvalidInput]]:
    """The settings a form gives, and the fields whose text is not a number at all (the
    ranges are the domain's to check). An empty field takes its default, as in the API."""
    settings: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "ship_partial": bool(form.get("ship_partial")),
        "events_url": form.get("events_url", "").strip() or None,
    }
    unreadable = []
    for field, (words, read, default) in _TYPED.items():
        text = form.get(field, "").strip()
        try:
            settings[field] = read(text, words) if text else default
        except InvalidInput as refused:
            unreadable.append(InvalidInput(refused.message, field=field))
            settings[field] = default
    return settings, unreadable


def _channels_page(status: int = 200, **values: Any) -> tuple[str, int]:
    everyone = channels.list_channels(db())
    failed: str | None = values.pop("failed", None)
    typed: dict[str, str] = values.pop("typed", {})
    forms = [(channel, typed if channel.code == failed else shown(channel)) for channel in everyone]
    return page(
        "channels.html",
        status,
        forms=forms,
        failed=failed,
        saved=values.pop("saved", None),
        editable=allowed(signed_in().role, "channels.write"),
        **values,
    )


@bp.route("/channels")
@requires("channels.supervise")
def channel_list() -> tuple[str, int]:
    """Every channel and its settings; a form each for admins."""
    return _channels_page()


@bp.route("/channels/<code>", methods=["POST"])
@requires("channels.write")
@writes_late
def edit(code: str) -> tuple[str, int]:
    """Save one channel's settings, all of them or (on any mistake) none."""
    channel = channels.get_channel(db(), code)
    was_pushed = bool(channel.events_url)
    settings, unreadable = read_form(request.form)
    home = service_address()
    problems: list[InvalidInput] = []
    if unreadable:
        later = {refused.field for refused in unreadable}
        checked = {k: v for k, v in settings.items() if k != "ship_partial"}
        problems = unreadable + [
            p for p in channels.check_settings(**checked, home=home) if p.field not in later
        ]
    else:
        try:
            with transaction() as session:
                channel, _ = channels.put_channel(session, code, **settings, home=home)
        except channels.SettingsRefused as refused:
            problems = refused.problems
    if problems:
        typed = {field: request.form.get(field, "") for field in FIELDS}
        errors = {p.field: p.message for p in sorted(problems, key=_in_form_order)}
        return _channels_page(
            422,
            failed=code,
            typed=typed,
            errors=errors,
            error=f"Nothing was saved for {code}: see what is wrong next to each field.",
        )
    note = f"Saved the settings of {channel.name}."
    if was_pushed and not channel.events_url:
        note += " Its events not sent yet are kept for it to pull."
    return _channels_page(outcome="good", saved=code, saved_note=note)


def _in_form_order(problem: InvalidInput) -> int:
    return FIELDS.index(problem.field) if problem.field in FIELDS else len(FIELDS)
