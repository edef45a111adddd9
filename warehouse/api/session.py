"""Signing in and out from a page's own script: a handheld signed out while idle signs in
again without leaving its page, and the scans it queued meanwhile go on where they were."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from flask_wtf.csrf import generate_csrf

from warehouse import accounts, web
from warehouse.errors import InvalidInput, LoginRefused
from warehouse.models import ROLES
from warehouse.web import (
    client_address,
    config,
    current_user,
    public,
    sign_in,
    transaction,
)

blp = Blueprint("session", __name__, url_prefix="/api/session", description="Sign-in")


class SignInIn(ma.Schema):
    badge = ma.fields.String(validate=ma.validate.Length(1, 64))
    pin = ma.fields.String(validate=ma.validate.Length(0, 16))
    name = ma.fields.String(validate=ma.validate.Length(1, 64))
    password = ma.fields.String(validate=ma.validate.Length(0, 200))


class WhoOut(ma.Schema):
    name = ma.fields.String()
    role = ma.fields.String(metadata={"enum": list(ROLES)})


class SessionOut(ma.Schema):
    user = ma.fields.Nested(WhoOut, allow_none=True)
    csrf_token = ma.fields.String(
        metadata={"description": "send it as X-CSRFToken with the session's next requests"}
    )


def _session() -> dict[str, Any]:
    user = current_user()
    who = {"name": user.name, "role": user.role} if user else None
    return {"user": who, "csrf_token": generate_csrf()}


@blp.route("", methods=["GET"])
@blp.response(200, SessionOut)
@public
def show() -> dict[str, Any]:
    """Who is signed in on this browser (null when no one), and a CSRF token for signing in."""
    return _session()


@blp.route("", methods=["POST"])
@blp.arguments(SignInIn)
@blp.response(200, SessionOut)
@public
def sign_in_here(body: dict[str, Any]) -> dict[str, Any]:
    """Sign in with a badge and its PIN, or a name and a password; failures are counted and
    slowed as on the sign-in page."""
    auth = config().auth
    # Failed attempts are counted even though the sign-in is refused.
    with transaction(keep=(LoginRefused,)) as session:
        address = client_address()
        if body.get("badge"):
            user = accounts.login_with_badge(session, body["badge"], body.get("pin"), address, auth)
        elif body.get("name"):
            user = accounts.login_with_password(
                session, body["name"], body.get("password", ""), address, auth
            )
        else:
            raise InvalidInput("Send a badge and its PIN, or a name and a password.", field="badge")
        sign_in(session, user)
    return {"user": {"name": user.name, "role": user.role}, "csrf_token": generate_csrf()}


@blp.route("", methods=["DELETE"])
@blp.response(200, SessionOut)
@public
def sign_out() -> dict[str, Any]:
    """Sign out (handhelds are shared): the session ends, and no copy of its cookie works."""
    with transaction() as session:
        web.sign_out(session)
    return {"user": None, "csrf_token": generate_csrf()}
