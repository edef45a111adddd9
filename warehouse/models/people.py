"""People and programs that use the service: users, their sessions and API tokens, failed
logins, shared settings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.models.base import Base, created, intpk, one_of

if TYPE_CHECKING:
    from warehouse.models.orders import Channel

ROLES = ("admin", "supervisor", "receiver", "picker", "packer", "integration")


class Setting(Base):
    """Values the service makes once and every worker shares (the session signing key)."""

    __tablename__ = "setting"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (one_of("role", ROLES),)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # The badge's barcode is printed on the badge, so it is kept as is; the PIN is hashed.
    badge: Mapped[str | None] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    # A deactivated user signs in no more, and their sessions and tokens are ended.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created]


class UserSession(Base):
    """A signed-in browser. Its cookie carries a random id, and the session lives only while
    this row does: signing out or a deactivation deletes it, so a copied cookie dies too."""

    __tablename__ = "user_session"

    # SHA-256 of the id in the cookie.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[created]


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # SHA-256 of the token: tokens are long and random, so a fast hash is enough.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's last characters, so that a person can tell tokens apart in a list.
    hint: Mapped[str] = mapped_column(String(8), default="")
    created_at: Mapped[created]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    # An integration token bound to channels serves only those; bound to none, every one.
    channels: Mapped[list[Channel]] = relationship(secondary="api_token_channel")


class ApiTokenChannel(Base):
    __tablename__ = "api_token_channel"

    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LoginFailure(Base):
    """Failed logins in a row for one name or badge from one client address. Unknown names
    and badges are counted alike, and a stranger's failures slow down only the stranger."""

    __tablename__ = "login_failure"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures"),)

    # SHA-256 of the name or badge typed (never kept as typed: it may be a password).
    identifier_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    # No try from this address before this time; `locked` when it is a lockout.
    wait_until: Mapped[datetime | None]
    locked: Mapped[bool] = mapped_column(default=False)
    # Rows of failures long past are cleared away (names typed once and never again).
    last_failed_at: Mapped[datetime] = mapped_column(index=True)
