"""The supervisors' people page: who works here, in which role, whose badge is locked out
after failed logins (the lockout lifted), deactivating a user, and the API tokens that work
(revoked there)."""

from __future__ import annotations

from flask import Blueprint, request

from warehouse import accounts, login_failures
from warehouse.errors import WarehouseError
from warehouse.models import utcnow
from warehouse.pages.shared import page, signed_in, whole_number
from warehouse.web import db, requires, transaction, writes_late

bp = Blueprint("people", __name__)


def _people_page(status: int = 200, **values: object) -> tuple[str, int]:
    everyone = accounts.people(db())
    locked = login_failures.locked_until(db(), everyone, utcnow())
    return page(
        "people.html",
        status,
        people=[(person, locked.get(person.id)) for person in everyone],
        tokens=accounts.live_tokens(db()),
        **values,
    )


@bp.route("/people", methods=["GET", "POST"])
@requires("people.supervise")
@writes_late
def people() -> tuple[str, int]:
    """Everyone who signs in; a locked badge unlocked, a user deactivated, a token revoked."""
    if request.method == "GET":
        return _people_page()
    action = request.form.get("action", "unlock")
    name = request.form.get("name", "")
    try:
        with transaction() as session:
            if action == "deactivate":
                accounts.deactivate(session, name, by=signed_in())
                notice = f"{name} no longer signs in; their sessions and tokens have ended."
            elif action == "revoke":
                token = accounts.revoke_token_id(
                    session, whole_number(request.form.get("token"), "token", 1)
                )
                notice = f"The token ending {token.hint} of {token.user.name} no longer works."
            else:
                accounts.unlock(session, name)
                notice = f"{name} may sign in again."
    except WarehouseError as refused:
        return _people_page(refused.status, error=refused.message)
    return _people_page(outcome="good", notice=notice)
