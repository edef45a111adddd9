"""Users, their credentials and logins: passwords, badge plus PIN (failures counted by
warehouse.login_failures), sessions, API tokens bound to channels, their expiry and
revocation, and deactivation."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from warehouse import login_failures
from warehouse.config import AuthConfig
from warehouse.errors import Conflict, Forbidden, InvalidInput, LoginRefused, NotFound
from warehouse.limits import check_id
from warehouse.login_failures import digest
from warehouse.models import (
    ROLES,
    ApiToken,
    ApiTokenChannel,
    Channel,
    User,
    UserSession,
    utcnow,
)

TOKEN_PREFIX = "wh_"
MIN_PASSWORD_LENGTH = 8
# Compared against when a name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password")


@dataclass(frozen=True)
class NewUser:
    user: User
    badge: str | None
    pin: str | None


def _check_name(name: str) -> None:
    if not (1 <= len(name) <= 64) or not name.isprintable() or name != name.strip():
        raise InvalidInput("a user name has 1 to 64 printable characters", field="name")


def new_badge(session: Session) -> str:
    """An unused badge code in the default badge pattern (U and six digits)."""
    while True:
        badge = f"U{secrets.randbelow(10**6):06d}"
        if session.scalar(select(User.id).where(User.badge == badge)) is None:
            return badge


def add_user(
    session: Session,
    name: str,
    role: str,
    auth: AuthConfig,
    password: str | None = None,
    badge: str | None = None,
    pin: str | None = None,
) -> NewUser:
    """Create a user; people get a badge and a PIN (made up when not given)."""
    _check_name(name)
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles are {', '.join(ROLES)}", field="role")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"A user named {name!r} already exists.", code="user_exists")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if role != "integration":
        badge = badge or new_badge(session)
        if auth.badge_pin_required:
            pin = pin or "".join(secrets.choice("0123456789") for _ in range(auth.pin_length))
    if badge is not None and session.scalar(select(User.id).where(User.badge == badge)):
        raise Conflict(f"Badge {badge} belongs to another user.", code="badge_taken")
    if pin is not None and not (pin.isascii() and pin.isdigit() and len(pin) == auth.pin_length):
        raise InvalidInput(f"a PIN has exactly {auth.pin_length} digits", field="pin")
    user = User(
        name=name,
        role=role,
        password_hash=generate_password_hash(password) if password else None,
        badge=badge,
        pin_hash=generate_password_hash(pin) if pin else None,
    )
    session.add(user)
    session.flush()
    return NewUser(user, badge, pin)


# Said alike whether the name (or badge) is unknown or the secret is wrong.
WRONG_PASSWORD = "Unknown user or wrong password."
WRONG_PIN = (
    "Wrong PIN, or a badge this warehouse does not know: scan your badge and type its PIN again."
)
UNKNOWN_BADGE = "This badge is not known."


def _verify(
    session: Session,
    identifier: str,
    address: str,
    user: User | None,
    secret: str | None,
    stored: str | None,
    auth: AuthConfig,
    refusal: str,
) -> User:
    """The user, once the try is counted and the secret (when one is asked) matches."""
    login_failures.count_attempt(session, identifier, address, auth, utcnow())
    known = user is not None and user.active
    if secret is not None:
        # An unknown user costs a hash check too, so the time taken tells nothing.
        matches = check_password_hash(stored if known and stored else _DUMMY_HASH, secret)
        known = known and stored is not None and matches
    if not known:
        raise LoginRefused(refusal)
    assert user is not None
    login_failures.forget(session, identifier, address)
    return user


def login_with_password(
    session: Session, name: str, password: str, address: str, auth: AuthConfig
) -> User:
    """The user whose name and password these are; failures are counted and throttled per
    name and client address."""
    user = session.scalar(select(User).where(User.name == name))
    stored = user.password_hash if user else None
    return _verify(session, name, address, user, password, stored, auth, WRONG_PASSWORD)


def login_with_badge(
    session: Session, badge: str, pin: str | None, address: str, auth: AuthConfig
) -> User:
    """The user whose badge was scanned, checked against their PIN when PINs are required;
    failures are counted and throttled per badge and client address."""
    user = session.scalar(select(User).where(User.badge == badge))
    if not auth.badge_pin_required:
        return _verify(session, badge, address, user, None, None, auth, UNKNOWN_BADGE)
    stored = user.pin_hash if user else None
    return _verify(session, badge, address, user, pin or "", stored, auth, WRONG_PIN)


def _user_named(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"No user is named {name!r}.", code="unknown_user")
    return user


def unlock(session: Session, name: str) -> User:
    """Lift the login lockouts (and the waits after failed logins) of the named user, from
    every address."""
    user = _user_named(session, name)
    login_failures.unlock_user(session, user)
    return user


def deactivate(session: Session, name: str, by: User | None = None) -> User:
    """Stop the named user from signing in; their sessions and tokens end at once. `by` is
    the person doing it on a page (the command line is the site's own operator)."""
    user = _user_named(session, name)
    if by is not None and by.id == user.id:
        raise Conflict("You cannot deactivate yourself.", code="own_account")
    if by is not None and user.role == "admin" and by.role != "admin":
        raise Forbidden(f"Only an admin deactivates an admin such as {name}.")
    user.active = False
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.flush()
    return user


def people(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.name)))


# A session lasts no longer than a shift, whatever its cookie says.
SESSION_HOURS = 12


def open_session(session: Session, user: User) -> str:
    """A new session for a user who has just signed in; returns the id its cookie carries.
    Sessions older than a shift, and failed logins of a day ago, are cleared away here."""
    now = utcnow()
    session.execute(
        delete(UserSession).where(UserSession.created_at < now - timedelta(hours=SESSION_HOURS))
    )
    login_failures.forget_stale(session, now)
    sid = secrets.token_urlsafe(32)
    session.add(UserSession(id_hash=digest(sid), user_id=user.id, created_at=now))
    session.flush()
    return sid


def end_session(session: Session, sid: str) -> None:
    """Sign a session out: its cookie, and any copy of it, no longer works."""
    session.execute(delete(UserSession).where(UserSession.id_hash == digest(sid)))


def user_for_session(session: Session, sid: str) -> User | None:
    """The active user of an open session, or None."""
    since = utcnow() - timedelta(hours=SESSION_HOURS)
    return session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.id_hash == digest(sid),
            UserSession.created_at > since,
            User.active.is_(True),
        )
    )


@dataclass(frozen=True)
class TokenHolder:
    """Who an API token speaks for, and the channels it serves (None: every channel)."""

    user: User
    channels: frozenset[int] | None


MAX_TOKEN_DAYS = 3650


def create_token(
    session: Session,
    name: str,
    channels: Sequence[str] = (),
    expires_days: int | None = None,
) -> str:
    """A new API token for the named user; only its hash is stored, so it is shown once.
    With channels, an integration's token serves only those channels."""
    user = _user_named(session, name)
    if not user.active:
        raise Conflict(f"{name} is deactivated.", code="user_inactive")
    if channels and user.role != "integration":
        raise InvalidInput("only an integration's token serves channels", field="channel")
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise InvalidInput(
            f"a token expires after 1 to {MAX_TOKEN_DAYS} days", field="expires_days"
        )
    served = []
    for code in dict.fromkeys(channels):
        channel = session.scalar(select(Channel).where(Channel.code == code))
        if channel is None:
            raise NotFound(f"No channel has code {code!r}.", code="unknown_channel")
        served.append(channel)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=digest(token),
            hint=token[-4:],
            created_at=now,
            expires_at=now + timedelta(days=expires_days) if expires_days else None,
            channels=served,
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, token: str) -> ApiToken:
    """End an API token given as it was printed: it answers 401 from now on."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token.strip())))
    if row is None:
        raise NotFound("No such token.", code="unknown_token")
    return _revoke(session, row)


def revoke_token_id(session: Session, token_id: int) -> ApiToken:
    """End the API token with this id (as the people page lists it)."""
    row = session.get(ApiToken, token_id) if check_id(token_id) else None
    if row is None:
        raise NotFound(f"No token has id {token_id}.", code="unknown_token")
    return _revoke(session, row)


def _revoke(session: Session, row: ApiToken) -> ApiToken:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


def live_tokens(session: Session) -> list[ApiToken]:
    """The tokens that still work, newest first, with their users and channels."""
    now = utcnow()
    return list(
        session.scalars(
            select(ApiToken)
            .join(ApiToken.user)
            .where(
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
                User.active.is_(True),
            )
            .order_by(ApiToken.id.desc())
            .options(selectinload(ApiToken.channels), selectinload(ApiToken.user))
        )
    )


def token_holder(session: Session, token: str) -> TokenHolder | None:
    """Who a live API token speaks for (not revoked, not expired, its user active), or None."""
    row = session.execute(
        select(User, ApiToken.id)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == digest(token),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()),
            User.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    user, token_id = row
    if user.role != "integration":
        return TokenHolder(user, None)
    served = frozenset(
        session.scalars(
            select(ApiTokenChannel.channel_id).where(ApiTokenChannel.token_id == token_id)
        )
    )
    return TokenHolder(user, served or None)
