"""Alembic environment: runs on the connection that warehouse.migrate hands it."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from warehouse.models import Base, StrEnumType, UTCDateTime


def _render_item(kind: str, obj: Any, _context: Any) -> str | Literal[False]:
    # Migrations stay free of model code: the wrappers are plain types in the schema.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    # A status enum is its text in the schema.
    if kind == "type" and isinstance(obj, StrEnumType):
        return f"sa.String(length={obj.length})"
    return False


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it; batch mode does that for later migrations.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
