"""The one exception hierarchy of the domain: each error knows its API code and HTTP status."""

from __future__ import annotations


class WarehouseError(Exception):
    """A refused request: nothing was changed. Rendered as API.md's error envelope."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class InvalidInput(WarehouseError):
    code = "invalid_input"
    status = 422


class UnknownSku(WarehouseError):
    code = "unknown_sku"
    status = 422

    def __init__(self, sku: str, *, field: str | None = "sku"):
        super().__init__(f"No product has SKU {sku!r}.", field=field)


class UnknownLocation(WarehouseError):
    code = "unknown_location"
    status = 422

    def __init__(self, code: str, *, field: str | None = "location"):
        super().__init__(f"No location has code {code!r}.", field=field)


class NotFound(WarehouseError):
    code = "not_found"
    status = 404


class Conflict(WarehouseError):
    code = "conflict"
    status = 409


class BarcodeTaken(Conflict):
    code = "barcode_taken"


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class Forbidden(WarehouseError):
    """The person's role may not do this (a step of a flow only a supervisor takes)."""

    code = "forbidden"
    status = 403


class LoginRefused(WarehouseError):
    """Wrong credentials; the message never says which part was wrong."""

    code = "login_failed"
    status = 401


class LoginThrottled(WarehouseError):
    """Too many failed logins: the account waits, or is locked, before the next try."""

    code = "login_throttled"
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
