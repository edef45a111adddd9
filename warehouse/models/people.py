"""People and programs that use the service: users, their API tokens, shared settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from warehouse.models.base import Base, created, intpk, one_of

ROLES = ("admin", "supervisor", "receiver", "picker", "packer", "integration")


class Setting(Base):
    """Values the service makes once and every worker shares (the session signing key)."""

    __tablename__ = "setting"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        one_of("role", ROLES),
        CheckConstraint("failed_logins >= 0", name="failed_logins"),
    )

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # The badge's barcode is printed on the badge, so it is kept as is; the PIN is hashed.
    badge: Mapped[str | None] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    created_at: Mapped[created]


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # SHA-256 of the token: tokens are long and random, so a fast hash is enough.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created]

    user: Mapped[User] = relationship()
