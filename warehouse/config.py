"""Loading and checking config.toml; environment variables override any key.

An override is named WAREHOUSE_<SECTION>_<KEY>, for example
WAREHOUSE_DATABASE_URL or WAREHOUSE_AUTH_IDLE_MINUTES, or, to reach any depth,
with a double underscore between the levels: WAREHOUSE_PRINTERS__PACK1__HOST,
WAREHOUSE_STATIONS__PACK2__PRINTER, WAREHOUSE_LABELS__SHIP_FROM__CITY.
WAREHOUSE_CONFIG names the file itself (default: config.toml in the working
directory).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from labels.printers import PrinterKind
from scanners.numbered import numbered_code
from warehouse.limits import DEFAULT_MAX_LINES, MAX_ORDER_LINES


class ConfigError(Exception):
    """config.toml or an override is wrong; the message names the key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(4, ge=1, le=64)
    # Signs session cookies. Empty: a random key is made once and kept in the database,
    # so that every worker and every app server on that database shares it.
    secret_key: str = ""
    # HTTPS: PEM files of the certificate (with its chain) and its private key. Handheld
    # browsers give the camera only to secure pages. Relative paths: from this file.
    certificate: str = ""
    private_key: str = ""
    # Who may read /metrics: empty, only the machine itself (127.0.0.1, ::1); set, only a
    # request with the header "Authorization: Bearer <metrics_token>".
    metrics_token: str = ""
    # A request's body must have arrived this many seconds after its headers (a photo from
    # a handheld on poor Wi-Fi included); later, it is answered 408 and its connection closed.
    body_timeout_s: int = Field(120, ge=1, le=3600)

    @model_validator(mode="after")
    def _both_or_neither(self) -> ServerConfig:
        if bool(self.certificate) != bool(self.private_key):
            raise ValueError("certificate and private_key go together: name both or neither")
        return self

    @property
    def https(self) -> bool:
        return bool(self.certificate)


class DatabaseConfig(Section):
    url: str = "sqlite:///var/warehouse.sqlite3"
    busy_timeout_ms: int = Field(10000, ge=0)
    pool_size: int = Field(5, ge=1)

    @field_validator("url")
    @classmethod
    def _a_database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        example = "sqlite:///var/warehouse.sqlite3 or postgresql://user:password@host/db"
        if not value.strip():
            raise ValueError(f"is empty; name a database such as {example}")
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(f"is not a database URL; write it as {example}") from None
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"names a {backend} database; use SQLite or PostgreSQL: {example}")
        return value


class WarehouseConfig(Section):
    name: str = "Warehouse"
    # A location code must match this. The named groups aisle, bay and level place a bin
    # in the layout; an alternative without them (docks, quarantine) has no place.
    location_pattern: str = (
        r"(?P<aisle>[A-Z][0-9]{2})-(?P<bay>[0-9]{2})-(?P<level>[0-9])|[A-Z]{2,8}-[0-9]{1,3}"
    )

    @field_validator("location_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        missing = {"aisle", "bay", "level"} - set(compiled.groupindex)
        if missing:
            raise ValueError(
                f"needs the named groups aisle, bay and level; missing {sorted(missing)}"
            )
        return value


class LayoutConfig(Section):
    """The pick area: parallel aisles between a front and a back cross aisle."""

    # The pick aisles from left to right, by the aisle part of location codes.
    aisles: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default_factory=lambda: ["A01", "A02", "A03", "A04", "A05"], min_length=1
    )
    # Bays along each aisle, numbered from the front cross aisle; both sides are picked.
    bays: int = Field(8, ge=1, le=1000)
    bay_width_m: float = Field(1.2, gt=0, le=100)
    aisle_spacing_m: float = Field(3.0, gt=0, le=100)
    cross_aisle_width_m: float = Field(2.5, gt=0, le=100)
    # A middle cross aisle runs after each of these bays (a warehouse of several blocks).
    middle_cross_aisles: list[int] = []
    # Where pick carts start and end: on the front cross aisle, metres from the first aisle.
    depot_x_m: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> LayoutConfig:
        if len(set(self.aisles)) != len(self.aisles):
            raise ValueError("aisles: an aisle is named twice")
        if len(set(self.middle_cross_aisles)) != len(self.middle_cross_aisles):
            raise ValueError("middle_cross_aisles: a bay is named twice")
        if any(not 1 <= bay < self.bays for bay in self.middle_cross_aisles):
            raise ValueError(f"middle_cross_aisles: each must be a bay from 1 to {self.bays - 1}")
        return self


class AuthConfig(Section):
    # A badge barcode is easy to copy with a phone camera, so by default it needs a PIN too.
    badge_pin_required: bool = True
    pin_length: int = Field(4, ge=4, le=8)
    # Handhelds are shared: a session ends after this many minutes without a request.
    idle_minutes: int = Field(15, ge=1)
    # Failed logins beyond this many must wait 2, 4, 8, ... seconds before the next try.
    free_attempts: int = Field(3, ge=1)
    # After this many failed logins in a row, that name or badge is locked at that client
    # address for lockout_minutes.
    max_attempts: int = Field(8, ge=2)
    lockout_minutes: int = Field(15, ge=1)

    @model_validator(mode="after")
    def _attempts_ordered(self) -> AuthConfig:
        if self.max_attempts <= self.free_attempts:
            raise ValueError("max_attempts must be greater than free_attempts")
        return self


class ScannersConfig(Section):
    # What a scanner may add around each scan, stripped before the scan is read.
    prefix: str = ""
    suffix: str = ""
    # What the scanners send in place of the GS1 separator (ASCII 29) when they cannot send it.
    gs_standin: str = ""
    # Internal codes, recognized by pattern.
    badge_pattern: str = r"U[0-9]{6}"
    tote_pattern: str = r"T[0-9]{5}"
    carton_pattern: str = r"C[0-9]{8}"
    # Order codes are written by the service (packing slips) as well as read, so this one is
    # a fixed text, a run of digits and a fixed text.
    order_pattern: str = r"O[0-9]{8,10}"

    @field_validator("badge_pattern", "tote_pattern", "carton_pattern", "order_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        return value

    @field_validator("order_pattern")
    @classmethod
    def _numbered(cls, value: str) -> str:
        numbered_code(value)
        return value


class Address(Section):
    name: str = "Warehouse"
    street1: str = ""
    street2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = "US"


class LabelsConfig(Section):
    dpi: Literal[203, 300] = 203
    # GS1 company prefix for SSCC numbers: 7 to 10 digits.
    company_prefix: str = Field("0614141", pattern=r"^[0-9]{7,10}$")
    slip_paper: Literal["A4", "Letter"] = "Letter"
    ship_from: Address = Address()


class PrinterConfig(Section):
    kind: PrinterKind
    host: str = ""
    port: int = Field(9100, ge=1, le=65535)
    queue: str = ""

    @model_validator(mode="after")
    def _target_named(self) -> PrinterConfig:
        if self.kind == PrinterKind.TCP and not self.host:
            raise ValueError("a tcp printer needs host")
        if self.kind == PrinterKind.CUPS and not self.queue:
            raise ValueError("a cups printer needs queue")
        return self


class PrintingConfig(Section):
    # The longest one send to a printer may take, connecting included. A label that went out
    # but was not finished by then may have printed: it waits for a person's word.
    deadline_s: float = Field(30.0, gt=0, le=600)
    # How long a sender's claim on a job holds unless renewed (it is renewed while the send
    # is alive). A job whose sender stopped renewing it may have printed, and waits too.
    lease_s: float = Field(30.0, ge=1, le=600)


class EventsConfig(Section):
    # Events pushed to channels: config.toml's [events] says what each key does.
    timeout_s: float = Field(10.0, gt=0, le=300)
    first_retry_s: float = Field(5.0, gt=0, le=86400)
    last_retry_s: float = Field(3600.0, gt=0, le=86400)
    give_up_h: float = Field(26.0, gt=0, le=24 * 60)
    lease_s: float = Field(60.0, ge=1, le=3600)
    senders: int = Field(16, ge=1, le=64)


class StationConfig(Section):
    printer: str


class BoxConfig(Section):
    """A carton size the packers use."""

    name: str
    weight_g: int = Field(ge=0, le=20000)
    # Inner size in millimetres, for the packer's choice (length, width, height).
    inner_mm: tuple[int, int, int] = (300, 200, 150)


class PackingConfig(Section):
    # A closed carton whose scale weight is off the expected weight (items + box) by more
    # than this share or these grams (whichever is larger) is held for a re-check.
    weight_tolerance: float = Field(0.1, ge=0, le=1)
    weight_tolerance_g: int = Field(50, ge=0)
    # Heavier than this is a typing error, not a parcel.
    max_carton_kg: float = Field(40.0, gt=0, le=1000)


class ReceivingConfig(Section):
    # The most units one receipt line (or one count of a bin) books: past it, a typing slip.
    max_units: int = Field(10000, ge=1, le=999_999)


class CountingConfig(Section):
    # A count by anyone but a supervisor that differs from the books by more than this many
    # units, or by more than this value at cost (price where no cost is known), is booked
    # only once a second count agrees or a supervisor approves it.
    review_units: int = Field(20, ge=0, le=999_999)
    review_value: Decimal = Field(Decimal("100.00"), ge=0)


class OrdersConfig(Section):
    # The most lines one channel order may have (10000 at most): a bigger one is refused
    # with 422 and sent as several orders.
    max_lines: int = Field(DEFAULT_MAX_LINES, ge=1, le=MAX_ORDER_LINES)


class ShippingConfig(Section):
    # Who collects the parcels that leave under the warehouse's own labels, and how: told
    # to channels with our tracking numbers. A carrier's own label names its own.
    carrier: str = Field("Demo Parcel", min_length=1, max_length=64)
    service: str = Field("Ground", max_length=64)

    @field_validator("carrier", "service")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("holds a control character; write the name as it is printed")
        return value


class ReturnsConfig(Section):
    # Where a returned item goes when no location is scanned for it (it waits for a check).
    quarantine: str = "QUAR-01"


class Config(Section):
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    warehouse: WarehouseConfig = WarehouseConfig()
    layout: LayoutConfig = LayoutConfig()
    auth: AuthConfig = AuthConfig()
    scanners: ScannersConfig = ScannersConfig()
    labels: LabelsConfig = LabelsConfig()
    printers: dict[Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")], PrinterConfig] = {}
    printing: PrintingConfig = PrintingConfig()
    events: EventsConfig = EventsConfig()
    stations: dict[Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")], StationConfig] = {}
    boxes: dict[Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")], BoxConfig] = {
        "small": BoxConfig(name="Small box", weight_g=150, inner_mm=(250, 180, 100)),
        "medium": BoxConfig(name="Medium box", weight_g=300, inner_mm=(400, 300, 200)),
        "large": BoxConfig(name="Large box", weight_g=550, inner_mm=(600, 400, 400)),
    }
    packing: PackingConfig = PackingConfig()
    receiving: ReceivingConfig = ReceivingConfig()
    orders: OrdersConfig = OrdersConfig()
    counting: CountingConfig = CountingConfig()
    returns: ReturnsConfig = ReturnsConfig()
    shipping: ShippingConfig = ShippingConfig()

    @model_validator(mode="after")
    def _stations_name_printers(self) -> Config:
        for name, station in self.stations.items():
            if station.printer not in self.printers:
                raise ValueError(
                    f"stations.{name}.printer: no printer is named {station.printer!r}"
                )
        return self


ENV_PREFIX = "WAREHOUSE_"
# Sections with scalar keys, which WAREHOUSE_<SECTION>_<KEY> overrides.
_ENV_SECTIONS = (
    "server", "database", "warehouse", "auth", "scanners", "labels", "printing", "receiving",
    "orders", "counting", "returns", "layout", "packing", "shipping", "events",
)  # fmt: skip
# Between the levels of a nested override: WAREHOUSE_PRINTERS__PACK1__HOST.
_NESTED = "__"


def _env_overrides(environ: Mapping[str, str]) -> dict[tuple[str, ...], tuple[str, str]]:
    """The overrides in the environment: each key's path in config.toml -> (variable, value)."""
    overrides: dict[tuple[str, ...], tuple[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        if _NESTED in rest:
            path = tuple(rest.split(_NESTED))
            if path[0] not in Config.model_fields:
                raise ConfigError(f"{name}: config.toml has no section {path[0]!r}")
            if "" in path or len(path) < 2:
                raise ConfigError(f"{name}: write it as WAREHOUSE_SECTION__NAME__KEY")
        else:
            section, _, key = rest.partition("_")
            if section not in _ENV_SECTIONS:
                continue  # not a configuration key (WAREHOUSE_TEST_..., say)
            if key not in Config.model_fields[section].annotation.model_fields:  # type: ignore[union-attr]
                raise ConfigError(f"{name}: {section} has no key {key!r}")
            path = (section, key)
        overrides[path] = (name, value)
    return overrides


def _apply(data: dict[str, Any], path: tuple[str, ...], value: str, name: str) -> None:
    """Set one override into the file's data, making the tables on its path."""
    table = data
    for part in path[:-1]:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: {part} is a value in config.toml, not a table")
    table[path[-1]] = value


def _describe(
    error: ValidationError, origin: str | None, variables: Mapping[tuple[str, ...], str]
) -> str:
    """One line per problem, naming the key (or, for overrides, the variable)."""
    lines = []
    for item in error.errors():
        loc = tuple(str(part) for part in item["loc"])
        where = ".".join(loc) or "(top level)"
        if origin is None:
            # The variable that set the key; else the variables that set keys of its table.
            related = sorted(
                name for path, name in variables.items() if loc[: len(path) - 1] == path[:-1]
            )
            if loc in variables:
                where = variables[loc]
            elif related:
                where = f"{where} (set by {', '.join(related)})"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        message = message.removeprefix("Value error, ")
        lines.append(f"{origin or 'environment'}: {where}: {message}")
    return "\n".join(lines)


def _resolve_sqlite_path(url: str, base: Path) -> str:
    """Make a relative SQLite file path relative to the config file, not the working directory."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/") or url == prefix:
        return url
    path, sep, query = url[len(prefix) :].partition("?")
    if path in ("", ":memory:"):
        return url
    return prefix + str((base / path).resolve()) + sep + query


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read config.toml (if present), apply environment overrides, and check every value."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get(ENV_PREFIX + "CONFIG") or "config.toml")
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    elif ENV_PREFIX + "CONFIG" in environ:
        raise ConfigError(f"{path}: no such file")
    try:
        Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, str(path), {})) from None
    overrides = _env_overrides(environ)
    for key, (name, value) in overrides.items():
        _apply(data, key, value, name)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        variables = {key: name for key, (name, _value) in overrides.items()}
        raise ConfigError(_describe(exc, None, variables)) from None
    base = path.resolve().parent
    database = config.database.model_copy(
        update={"url": _resolve_sqlite_path(config.database.url, base)}
    )
    server = config.server.model_copy(
        update={
            name: str(base / value) if value else ""
            for name, value in (
                ("certificate", config.server.certificate),
                ("private_key", config.server.private_key),
            )
        }
    )
    return config.model_copy(update={"database": database, "server": server})
