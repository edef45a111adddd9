"""Every table of the service, as SQLAlchemy 2.0 typed models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("admin", "supervisor", "receiver", "picker", "packer", "integration")

MOVEMENT_KINDS = ("receive", "move", "adjust", "pick", "ship", "return")

CARTON_STATUSES = ("open", "held", "closed", "shipped")

PRINT_JOB_STATUSES = ("queued", "sending", "sent", "replaced")

PICK_LIST_KINDS = ("order", "batch", "wave")
PICK_LIST_STATUSES = ("open", "picking", "done", "released")
PICK_STATUSES = ("open", "picked", "short")

ORDER_STATUSES = ("reserved", "partial", "backordered", "picking", "packed", "shipped", "cancelled")
# Orders whose lines still hold or wait for stock.
OPEN_STATUSES = ("reserved", "partial", "backordered", "picking", "packed")


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """A CHECK that a text column holds one of the values, named after the column."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


intpk = Annotated[int, mapped_column(primary_key=True)]
created = Annotated[datetime, mapped_column(UTCDateTime, default=utcnow)]
money = Annotated[Decimal | None, mapped_column(Numeric(12, 2))]
code64 = Annotated[str, mapped_column(String(64))]


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, date: Date}


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


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved"),
    )

    id: Mapped[intpk]
    sku: Mapped[code64] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[money]
    unit_cost: Mapped[money]
    weight_g: Mapped[int | None]
    # Totals over all locations, kept in the same transaction as each stock change, so
    # a reservation is one conditional UPDATE of this row.
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[created]

    barcodes: Mapped[list[Barcode]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Barcode.id"
    )


class Barcode(Base):
    __tablename__ = "barcode"
    __table_args__ = (
        CheckConstraint("units >= 1", name="units"),
        one_of("kind", ("gtin", "internal")),
    )

    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    # The lookup key: GTINs as GTIN-14, internal codes as given.
    code: Mapped[code64] = mapped_column(unique=True)
    # As it was entered, to show back to whoever entered it.
    entered: Mapped[code64]
    kind: Mapped[str] = mapped_column(String(8))
    # A case barcode counts as this many units of the product.
    units: Mapped[int] = mapped_column(default=1)

    product: Mapped[Product] = relationship(back_populates="barcodes")


class Location(Base):
    __tablename__ = "location"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    zone: Mapped[str] = mapped_column(String(32), default="")
    pickable: Mapped[bool] = mapped_column(default=True)
    # From the configured location pattern; empty for places outside the aisles.
    aisle: Mapped[str | None] = mapped_column(String(16))
    bay: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))


class Stock(Base):
    """Units of one product at one location, per lot and expiry."""

    __tablename__ = "stock"
    __table_args__ = (
        CheckConstraint("qty >= 0", name="qty"),
        CheckConstraint("allocated >= 0 AND allocated <= qty", name="allocated"),
        # Two partial indexes, since NULL expiries never collide in a plain unique index.
        Index(
            "uq_stock_dated",
            "product_id",
            "location_id",
            "lot",
            "expiry",
            unique=True,
            sqlite_where=text("expiry IS NOT NULL"),
            postgresql_where=text("expiry IS NOT NULL"),
        ),
        Index(
            "uq_stock_undated",
            "product_id",
            "location_id",
            "lot",
            unique=True,
            sqlite_where=text("expiry IS NULL"),
            postgresql_where=text("expiry IS NULL"),
        ),
        Index("ix_stock_location_id", "location_id"),
    )

    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    lot: Mapped[str] = mapped_column(String(40), default="")
    expiry: Mapped[date | None]
    qty: Mapped[int] = mapped_column(default=0)
    # Units held here for open pick lists: no other pick list is sent for them.
    allocated: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship()
    location: Mapped[Location] = relationship()


class Movement(Base):
    """One line of the append-only stock ledger: a signed change of units on hand."""

    __tablename__ = "movement"
    __table_args__ = (
        one_of("kind", MOVEMENT_KINDS),
        Index("ix_movement_product_id_location_id", "product_id", "location_id"),
    )

    id: Mapped[intpk]
    at: Mapped[created]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    lot: Mapped[str] = mapped_column(String(40), default="")
    expiry: Mapped[date | None]
    qty: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str] = mapped_column(String(100), default="")

    product: Mapped[Product] = relationship()
    location: Mapped[Location] = relationship()
    user: Mapped[User | None] = relationship()


class Channel(Base):
    """A sales channel: its priority for scarce stock and what share of stock it may sell."""

    __tablename__ = "channel"
    __table_args__ = (
        CheckConstraint("buffer >= 0", name="buffer"),
        CheckConstraint("share > 0 AND share <= 1", name="share"),
    )

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # Lower is served first when backorders are filled.
    priority: Mapped[int] = mapped_column(default=100)
    buffer: Mapped[int] = mapped_column(default=0)
    share: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal(1))
    # Signs the channel's webhook deliveries (HMAC-SHA256); kept as is since it must be used.
    webhook_secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[created]


class Order(Base):
    """A channel order; (channel, external id) is unique, which makes intake idempotent."""

    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        one_of("status", ORDER_STATUSES),
        Index("ix_customer_order_status_created_at", "status", "created_at"),
    )

    id: Mapped[intpk]
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the order as received (normalized), to tell a replay from a different order.
    fingerprint: Mapped[str] = mapped_column(String(64))
    ship_name: Mapped[str] = mapped_column(String(200))
    ship_street1: Mapped[str] = mapped_column(String(200))
    ship_street2: Mapped[str] = mapped_column(String(200), default="")
    ship_city: Mapped[str] = mapped_column(String(100))
    ship_region: Mapped[str] = mapped_column(String(100), default="")
    ship_postal_code: Mapped[str] = mapped_column(String(20))
    ship_country: Mapped[str] = mapped_column(String(2))
    ship_by: Mapped[datetime | None]
    created_at: Mapped[created]

    channel: Mapped[Channel] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )


class OrderLine(Base):
    """A line of an order; `reserved` is the stock it holds, the rest of qty is backordered."""

    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("qty >= 1", name="qty"),
        CheckConstraint("reserved >= 0 AND reserved <= qty", name="reserved"),
        UniqueConstraint("order_id", "product_id"),
        Index("ix_order_line_product_id_backordered", "product_id", "backordered"),
    )

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    qty: Mapped[int]
    unit_price: Mapped[money]
    reserved: Mapped[int] = mapped_column(default=0)
    # True while the line waits for stock, so backorders are found without a scan of all lines.
    backordered: Mapped[bool] = mapped_column(default=False)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def waiting(self) -> int:
        """Units the line still waits for (its backorder)."""
        return self.qty - self.reserved if self.backordered else 0


class ScanLog(Base):
    """Every scan made through the service, refused ones too, for audits and scanner trouble."""

    __tablename__ = "scan_log"
    __table_args__ = (Index("ix_scan_log_at", "at"),)

    id: Mapped[intpk]
    at: Mapped[created]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    station: Mapped[str | None] = mapped_column(String(64))
    # Where the scan came in: api, agent, camera, or the floor flow (receive, count, lookup).
    source: Mapped[str] = mapped_column(String(16))
    # scanner (a burst of keys), keyboard (typed by a person), camera, or None when not told.
    entry: Mapped[str | None] = mapped_column(String(8))
    # Made by the client per scan, so a retried request is answered from here, not applied twice.
    scan_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The first RAW_KEPT characters as sent (control characters included) and the full length.
    raw: Mapped[str] = mapped_column(String(512))
    raw_length: Mapped[int]
    kind: Mapped[str | None] = mapped_column(String(16))
    # The answer given: what the scan resolved to, or what the flow did with it.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    accepted: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(32), default="")
    message: Mapped[str] = mapped_column(String(300), default="")
    ms: Mapped[float] = mapped_column(Float)


class PickList(Base):
    """Stops to walk for one order, a batch of orders (a tote each) or a wave."""

    __tablename__ = "pick_list"
    __table_args__ = (
        one_of("kind", PICK_LIST_KINDS),
        one_of("status", PICK_LIST_STATUSES),
        Index("ix_pick_list_status", "status"),
    )

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="open")
    # Who holds it while picking; a supervisor may release an abandoned list.
    picker_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    route_m: Mapped[float] = mapped_column(Float, default=0.0)
    route_method: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[created]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    picker: Mapped[User | None] = relationship()
    orders: Mapped[list[PickListOrder]] = relationship(
        back_populates="pick_list", order_by="PickListOrder.slot", cascade="all, delete-orphan"
    )
    picks: Mapped[list[Pick]] = relationship(
        back_populates="pick_list", order_by="Pick.seq", cascade="all, delete-orphan"
    )


class PickListOrder(Base):
    """An order on a pick list, in its slot on the cart and, once scanned, its tote."""

    __tablename__ = "pick_list_order"
    __table_args__ = (
        UniqueConstraint("pick_list_id", "slot"),
        UniqueConstraint("pick_list_id", "order_id"),
    )

    id: Mapped[intpk]
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_list.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    slot: Mapped[int]
    tote: Mapped[str | None] = mapped_column(String(32))

    pick_list: Mapped[PickList] = relationship(back_populates="orders")
    order: Mapped[Order] = relationship()


class Pick(Base):
    """One stop's work: units of an order line to take from one bin (and lot) to its tote."""

    __tablename__ = "pick"
    __table_args__ = (
        CheckConstraint("qty >= 1", name="qty"),
        CheckConstraint("picked >= 0 AND picked <= qty", name="picked"),
        one_of("status", PICK_STATUSES),
    )

    id: Mapped[intpk]
    pick_list_id: Mapped[int] = mapped_column(
        ForeignKey("pick_list.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stock.id"), index=True)
    # Walking order on the route.
    seq: Mapped[int]
    qty: Mapped[int]
    picked: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(8), default="open")

    pick_list: Mapped[PickList] = relationship(back_populates="picks")
    order_line: Mapped[OrderLine] = relationship()
    stock: Mapped[Stock] = relationship()


class CountTask(Base):
    """A bin to count: a picker found fewer units than the books say."""

    __tablename__ = "count_task"
    __table_args__ = (Index("ix_count_task_done_at", "done_at"),)

    id: Mapped[intpk]
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    reason: Mapped[str] = mapped_column(String(200))
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[created]
    done_at: Mapped[datetime | None]

    location: Mapped[Location] = relationship()
    product: Mapped[Product] = relationship()


class PrintJob(Base):
    """A document for a printer, stored before it is sent and kept after, for reprints.

    queued: waiting (first try, or after a failure until next_try_at); sending: claimed by
    one sender until lease_until, so two never send one job; sent: the printer took it;
    replaced: another document (a carrier's label) took its place before it was sent.
    """

    __tablename__ = "print_job"
    __table_args__ = (
        one_of("status", PRINT_JOB_STATUSES),
        Index("ix_print_job_status_next_try_at", "status", "next_try_at"),
    )

    id: Mapped[intpk]
    printer: Mapped[str] = mapped_column(String(64))
    # zpl or pdf
    format: Mapped[str] = mapped_column(String(8))
    document: Mapped[bytes] = mapped_column(LargeBinary)
    # What it is, for people: "label, carton 3 of order 1042".
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(300), default="")
    reprint_of: Mapped[int | None] = mapped_column(ForeignKey("print_job.id"))
    created_at: Mapped[created]
    sent_at: Mapped[datetime | None]


class Carton(Base):
    """A box being packed for an order; closed when weighed within tolerance, then labelled."""

    __tablename__ = "carton"
    __table_args__ = (
        UniqueConstraint("order_id", "number"),
        one_of("status", CARTON_STATUSES),
        CheckConstraint("number >= 1", name="number"),
    )

    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id"), index=True)
    number: Mapped[int]
    box: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8), default="open")
    weight_g: Mapped[int | None]
    expected_g: Mapped[int | None]
    # Given when the order is packed: the carton's SSCC and its tracking number.
    sscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    tracking: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A carrier's own label, attached by an integration; printed instead of ours.
    carrier_label: Mapped[bytes | None] = mapped_column(LargeBinary)
    carrier_label_format: Mapped[str | None] = mapped_column(String(8))
    label_job_id: Mapped[int | None] = mapped_column(ForeignKey("print_job.id"))
    created_at: Mapped[created]
    closed_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship()
    items: Mapped[list[CartonItem]] = relationship(
        back_populates="carton", order_by="CartonItem.id", cascade="all, delete-orphan"
    )


class CartonItem(Base):
    """Units of an order line packed into a carton."""

    __tablename__ = "carton_item"
    __table_args__ = (
        UniqueConstraint("carton_id", "order_line_id"),
        CheckConstraint("qty >= 1", name="qty"),
    )

    id: Mapped[intpk]
    carton_id: Mapped[int] = mapped_column(ForeignKey("carton.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    qty: Mapped[int]

    carton: Mapped[Carton] = relationship(back_populates="items")
    order_line: Mapped[OrderLine] = relationship()


class PackStation(Base):
    """A packing station: the order on its bench, its scale's last reading, and the outcome of
    its last scan. Scans from the station agent's scanner go to the order on the bench; the
    station's page follows `version` to show them."""

    __tablename__ = "pack_station"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("customer_order.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    scale_g: Mapped[int | None]
    scale_at: Mapped[datetime | None]
    # good or bad, and what to tell the packer.
    outcome: Mapped[str] = mapped_column(String(8), default="")
    message: Mapped[str] = mapped_column(String(300), default="")
    version: Mapped[int] = mapped_column(default=0)
