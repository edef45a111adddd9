"""Idempotency keys: a request that books stock or changes an order, sent again with the same
`Idempotency-Key` (a client retrying after a timeout or a dropped connection), is applied
once and answered as the first time; the same key with another request is refused.

The key is claimed by inserting its row in the request's own write transaction, before the
change, and the answer is written into that row before the transaction commits: the key is
kept exactly when its change is. A refused request rolls both back, so its key is free again.
Two requests with one key at once: on SQLite the write lock orders them; on PostgreSQL the
second one's insert waits on the unique index until the first commits, then fails, and the
second reads the first's answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from warehouse.errors import Conflict, InvalidInput
from warehouse.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# A retry comes within minutes; a day covers a client that was offline overnight.
KEPT = timedelta(hours=24)


@dataclass(frozen=True)
class Answer:
    """The answer first given under a key."""

    status: int
    content_type: str
    body: bytes


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request."""
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def check_key(key: str) -> str:
    """The key as sent, or a refusal naming the header."""
    if not (1 <= len(key) <= MAX_KEY_LENGTH) or not all(" " <= c <= "~" for c in key):
        raise InvalidInput(
            f"An {HEADER} is 1 to {MAX_KEY_LENGTH} printable ASCII characters.", field=HEADER
        )
    return key


def claim(session: Session, user_id: int, key: str, print_: str, now: datetime) -> Answer | None:
    """Claim the key for this request in the session's write transaction (None: go on and
    apply it), or the answer already given under it. The same key with another request:
    409 idempotency_key_reused."""
    check_key(key)
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.created_at < now - KEPT
        )
    )
    kept = _kept(session, user_id, key)
    if kept is None:
        try:
            with session.begin_nested():
                session.add(
                    IdempotencyKey(user_id=user_id, key=key, fingerprint=print_, created_at=now)
                )
            return None
        except IntegrityError:
            # Another request with this key committed meanwhile (PostgreSQL).
            kept = _kept(session, user_id, key)
            if kept is None:
                raise
    if kept.fingerprint != print_:
        raise Conflict(
            f"This {HEADER} was used for another request; use a new key for a new request.",
            code="idempotency_key_reused",
            field=HEADER,
        )
    if kept.status is None:
        # Claimed in a transaction that is still to commit: cannot be seen from here.
        raise Conflict("A request with this key is still being applied; try again.")
    return Answer(kept.status, kept.content_type, kept.body or b"")


def _kept(session: Session, user_id: int, key: str) -> IdempotencyKey | None:
    return session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )


def record(session: Session, user_id: int, key: str, answer: Answer) -> None:
    """Keep the answer under the key claimed by this transaction."""
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(status=answer.status, content_type=answer.content_type, body=answer.body),
        execution_options={"synchronize_session": False},
    )
