"""Users, their credentials and logins: passwords, badge plus PIN, API tokens, lockout."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from warehouse.config import AuthConfig
from warehouse.errors import Conflict, InvalidInput, LoginRefused, LoginThrottled, NotFound
from warehouse.models import ROLES, ApiToken, User, utcnow

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


def _throttle(user: User, auth: AuthConfig, now: datetime) -> None:
    """Refuse an attempt while the account is locked or still waiting after recent failures."""
    if user.locked_until and now < user.locked_until:
        wait = int((user.locked_until - now).total_seconds()) + 1
        raise LoginThrottled(
            f"Too many failed logins: this account is locked for {wait // 60 + 1} more minutes.",
            retry_after=wait,
        )
    beyond = user.failed_logins - auth.free_attempts
    if beyond > 0 and user.last_failed_at:
        ready = user.last_failed_at + timedelta(seconds=2**beyond)
        if now < ready:
            wait = int((ready - now).total_seconds()) + 1
            raise LoginThrottled(
                f"Too many failed logins: try again in {wait} s.", retry_after=wait
            )


def _record_failure(session: Session, user: User, auth: AuthConfig, now: datetime) -> None:
    failures = user.failed_logins + 1
    locked = failures >= auth.max_attempts
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            # A lock starts a fresh count for when it ends.
            failed_logins=0 if locked else User.failed_logins + 1,
            last_failed_at=now,
            locked_until=now + timedelta(minutes=auth.lockout_minutes) if locked else None,
        ),
        execution_options={"synchronize_session": False},
    )


# Said alike whether the name (or badge) is unknown or the secret is wrong.
WRONG_PASSWORD = "Unknown user or wrong password."
WRONG_PIN = (
    "Wrong PIN, or a badge this warehouse does not know: scan your badge and type its PIN again."
)


def _verify(
    session: Session,
    user: User | None,
    secret: str,
    stored: str | None,
    auth: AuthConfig,
    refusal: str = WRONG_PASSWORD,
) -> User:
    now = utcnow()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, secret)
        raise LoginRefused(refusal)
    _throttle(user, auth, now)
    if stored is None or not check_password_hash(stored, secret):
        _record_failure(session, user, auth, now)
        raise LoginRefused(refusal)
    user.failed_logins = 0
    user.last_failed_at = None
    user.locked_until = None
    return user


def login_with_password(session: Session, name: str, password: str, auth: AuthConfig) -> User:
    """The user whose name and password these are; failures are counted and throttled."""
    user = session.scalar(select(User).where(User.name == name))
    return _verify(session, user, password, user.password_hash if user else None, auth)


def login_with_badge(session: Session, badge: str, pin: str | None, auth: AuthConfig) -> User:
    """The user whose badge was scanned, checked against their PIN when PINs are required."""
    user = session.scalar(select(User).where(User.badge == badge))
    if not auth.badge_pin_required:
        if user is None or not user.active:
            raise LoginRefused("This badge is not known.")
        _throttle(user, auth, utcnow())
        return user
    return _verify(session, user, pin or "", user.pin_hash if user else None, auth, WRONG_PIN)


def unlock(session: Session, name: str) -> User:
    """Lift a login lockout (and the waits after failed logins) of the named user."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"No user is named {name!r}.", code="unknown_user")
    user.failed_logins, user.last_failed_at, user.locked_until = 0, None, None
    session.flush()
    return user


def locked(user: User, now: datetime) -> bool:
    """Whether the user's logins are locked out now."""
    return user.locked_until is not None and now < user.locked_until


def people(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.name)))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str) -> str:
    """A new API token for the named user; only its hash is stored, so it is shown once."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"No user is named {name!r}.", code="unknown_user")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token)))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user an API token belongs to, or None."""
    return session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _token_hash(token), User.active.is_(True))
    )
