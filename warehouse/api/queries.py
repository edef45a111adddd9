"""What the listing endpoints' query strings share."""

from __future__ import annotations

from typing import Any

import marshmallow as ma


class Query(ma.Schema):
    """A query string where a parameter sent empty (`?cursor=&status=`) is one left out, as
    clients that fill in a template send it."""

    @ma.pre_load
    def _blank_is_absent(self, data: Any, **_kwargs: Any) -> dict[str, Any]:
        values = {key: data[key] for key in data}
        return {
            key: [item for item in value if item != ""] if isinstance(value, list) else value
            for key, value in values.items()
            if value not in ("", [""], [])
        }
