"""What the service remembers of requests: the answer given under each Idempotency-Key."""

from __future__ import annotations

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warehouse.models.base import Base, created, intpk


class IdempotencyKey(Base):
    """A request applied under a client's key: a retry with the same key and the same request
    gets this answer again instead of being applied twice. Written in the transaction of the
    change itself, so a key is kept exactly when its change is."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[intpk]
    # Keys are the client's own: two users' keys never meet.
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None]
    content_type: Mapped[str] = mapped_column(String(100), default="")
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[created] = mapped_column(index=True)

    @property
    def answered(self) -> bool:
        return self.status is not None
