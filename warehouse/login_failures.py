"""Failed logins, counted per name or badge and client address: the waits after them, the
lockout, and lifting it. Names and badges that exist and those that do not are counted
alike, so no answer tells which exist; a stranger's failures slow down only the stranger's
own device, never the owner's."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from warehouse.config import AuthConfig
from warehouse.db import insert_or_skip, rows_changed
from warehouse.errors import LoginThrottled
from warehouse.models import LoginFailure, User


def digest(text: str) -> str:
    """SHA-256 of a name, badge, token or session id: what is kept instead of the text."""
    return hashlib.sha256(text.encode()).hexdigest()


def _wait_message(wait_until: datetime, locked: bool, now: datetime) -> LoginThrottled:
    wait = int((wait_until - now).total_seconds()) + 1
    if locked:
        return LoginThrottled(
            "Too many failed logins: signing in with this badge or name is locked on this "
            f"device for {wait // 60 + 1} more minutes, or until a supervisor unlocks it.",
            retry_after=wait,
        )
    return LoginThrottled(f"Too many failed logins: try again in {wait} s.", retry_after=wait)


def _being_checked() -> LoginThrottled:
    return LoginThrottled(
        "Another sign-in with this badge or name is being checked: try again in 1 s.",
        retry_after=1,
    )


def count_attempt(
    session: Session, identifier: str, address: str, auth: AuthConfig, now: datetime
) -> None:
    """Count this try as a failure before the secret is checked (a success undoes it), or
    refuse it while this name or badge waits at this address.

    The count is a compare-and-set on the failure count read, so tries at once, on one app
    server or several, are counted one by one: each loser of the race is refused as throttled.
    Known and unknown names are counted alike, so the answers never tell which exist.
    """
    key = (digest(identifier), address)
    session.execute(
        insert_or_skip(session, LoginFailure, ["identifier_hash", "address"]).values(
            identifier_hash=key[0], address=key[1], failures=0, locked=False, last_failed_at=now
        )
    )
    row = session.execute(
        select(LoginFailure.failures, LoginFailure.wait_until, LoginFailure.locked).where(
            LoginFailure.identifier_hash == key[0], LoginFailure.address == key[1]
        )
    ).first()
    if row is None:
        # A sign-in at the same moment succeeded and cleared the row away.
        raise _being_checked()
    if row.wait_until is not None and now < row.wait_until:
        raise _wait_message(row.wait_until, row.locked, now)
    failures = row.failures + 1
    locked = failures >= auth.max_attempts
    beyond = failures - auth.free_attempts
    if locked:
        wait_until: datetime | None = now + timedelta(minutes=auth.lockout_minutes)
    else:
        # Never longer than a lockout, however many attempts are allowed.
        wait = min(2 ** min(beyond, 30), auth.lockout_minutes * 60)
        wait_until = now + timedelta(seconds=wait) if beyond > 0 else None
    claimed = rows_changed(
        session,
        update(LoginFailure)
        .where(
            LoginFailure.identifier_hash == key[0],
            LoginFailure.address == key[1],
            LoginFailure.failures == row.failures,
            or_(LoginFailure.wait_until.is_(None), LoginFailure.wait_until <= now),
        )
        # A lock starts a fresh count for when it ends.
        .values(
            failures=0 if locked else failures,
            wait_until=wait_until,
            locked=locked,
            last_failed_at=now,
        ),
    )
    if not claimed:
        raise _being_checked()


def forget(session: Session, identifier: str, address: str) -> None:
    """Start the count of a name or badge at an address over (it has just signed in)."""
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.identifier_hash == digest(identifier), LoginFailure.address == address
        )
    )


def forget_stale(session: Session, now: datetime) -> None:
    """Clear away failures of a day ago and more that hold nothing back any more."""
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.last_failed_at < now - timedelta(days=1),
            or_(LoginFailure.wait_until.is_(None), LoginFailure.wait_until < now),
        )
    )


def _identifiers(user: User) -> list[str]:
    return [digest(text) for text in (user.name, user.badge) if text]


def unlock_user(session: Session, user: User) -> None:
    """Lift the lockouts (and the waits) of a user's name and badge, from every address."""
    session.execute(
        delete(LoginFailure).where(LoginFailure.identifier_hash.in_(_identifiers(user)))
    )


def locked_until(session: Session, users: list[User], now: datetime) -> dict[int, datetime]:
    """User id -> when the last lockout of their name or badge ends, for those locked now."""
    by_hash = {digest: user.id for user in users for digest in _identifiers(user)}
    rows = session.execute(
        select(LoginFailure.identifier_hash, LoginFailure.wait_until).where(
            LoginFailure.locked.is_(True), LoginFailure.wait_until > now
        )
    )
    out: dict[int, datetime] = {}
    for digest, until in rows:
        if digest in by_hash and until is not None:
            user_id = by_hash[digest]
            out[user_id] = max(until, out.get(user_id, until))
    return out
