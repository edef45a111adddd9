"""The supervisors' people page: who works here, in which role, whose badge is locked out
after failed logins, and the lockout lifted."""

from __future__ import annotations

from flask import Blueprint, request

from warehouse import accounts
from warehouse.errors import WarehouseError
from warehouse.models import utcnow
from warehouse.pages.shared import page
from warehouse.web import db, requires, transaction, writes_late

bp = Blueprint("people", __name__)


def _people_page(status: int = 200, **values: object) -> tuple[str, int]:
    now = utcnow()
    everyone = [(person, accounts.locked(person, now)) for person in accounts.people(db())]
    return page("people.html", status, people=everyone, **values)


@bp.route("/people", methods=["GET", "POST"])
@requires("people.supervise")
@writes_late
def people() -> tuple[str, int]:
    """Everyone who signs in; a locked badge unlocked."""
    if request.method == "GET":
        return _people_page()
    name = request.form.get("name", "")
    try:
        with transaction() as session:
            accounts.unlock(session, name)
    except WarehouseError as refused:
        return _people_page(refused.status, error=refused.message)
    return _people_page(outcome="good", notice=f"{name} may sign in again.")
