"""Counting a bin: the count a person scans item by item, the whole bin booked item by item
(nothing left uncounted is written off: "none here" is said for each item), differences too
large for one person's count held for a second count or a supervisor, and the bins to count
after short picks."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from warehouse.catalog import location_for_code
from warehouse.config import CountingConfig
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.inventory import OnBooks, count, on_books
from warehouse.limits import check_id
from warehouse.models import (
    CountReview,
    CountReviewStatus,
    CountTask,
    Movement,
    Product,
    Stock,
    User,
    utcnow,
)
from warehouse.quantities import check_units
from warehouse.roles import allowed
from warehouse.scanning import Resolved
from warehouse.stock import LocationContents


@dataclass
class CountLine:
    """A product (and lot) of the bin being counted; counted is None until it is."""

    sku: str
    lot: str
    name: str = ""
    counted: int | None = None


@dataclass
class BinCount:
    """A bin being counted: the products (and lots) it holds on the books, and any found."""

    location: str
    lines: list[CountLine] = field(default_factory=list)

    @classmethod
    def of(cls, contents: LocationContents) -> BinCount:
        """A count of a bin just begun: its products and lots, none counted yet."""
        lines = {
            (line.sku, line.lot): CountLine(line.sku, line.lot, line.name)
            for line in contents.lines
        }
        return cls(contents.location, list(lines.values()))

    @property
    def started(self) -> bool:
        return any(line.counted is not None for line in self.lines)

    def add(self, scanned: Resolved) -> CountLine:
        """Count a scanned product: its units go to its line (made if the bin had none)."""
        sku, lot = scanned.sku or "", scanned.gs1.lot if scanned.gs1 else None
        same = [line for line in self.lines if line.sku == sku and lot in (None, line.lot)]
        if len(same) > 1:
            raise InvalidInput(
                f"{sku} is here in several lots: scan the code that carries the lot, "
                "or type the counts."
            )
        if same:
            line = same[0]
        else:
            line = CountLine(sku, lot or "", scanned.name or "")
            self.lines.append(line)
        line.counted = (line.counted or 0) + scanned.units_scanned
        return line


@dataclass(frozen=True)
class Counted:
    """What a count of one item at a bin came to: booked (its adjustment movement, of 0 when
    the books agreed), or waiting in review for a second count or a supervisor."""

    sku: str
    lot: str
    difference: int
    movement: Movement | None = None
    review: CountReview | None = None

    @property
    def waiting(self) -> bool:
        return self.review is not None and self.review.status == CountReviewStatus.PENDING


def _beyond(rules: CountingConfig, product: Product, difference: int) -> bool:
    """A difference too large to book on one person's count."""
    each = product.unit_cost if product.unit_cost is not None else product.unit_price
    value = abs(difference) * (each or Decimal(0))
    return abs(difference) > rules.review_units or value > rules.review_value


def _pending(session: Session, books: OnBooks) -> CountReview | None:
    return session.scalar(
        select(CountReview).where(
            CountReview.location_id == books.location.id,
            CountReview.product_id == books.product.id,
            CountReview.lot == books.lot,
            CountReview.status == CountReviewStatus.PENDING,
        )
    )


def count_item(
    session: Session,
    user: User | None,
    sku: str,
    location: str,
    counted: int,
    rules: CountingConfig,
    *,
    lot: str | None = None,
    reference: str = "",
    most: int | None = None,
) -> Counted:
    """Count one item at a bin. The difference to the books is booked at once when it is
    small, when a supervisor counted, or when it agrees with a count waiting in review (the
    second count); otherwise the count waits in review, booking nothing."""
    check_units(counted, "counted", least=0, most=most)
    books = on_books(session, sku, location, lot)
    difference = counted - books.qty
    waiting = _pending(session, books)
    approver = user is not None and allowed(user.role, "counts.approve")
    agrees = waiting is not None and waiting.counted == counted
    if approver or agrees or not _beyond(rules, books.product, difference):
        movement = count(
            session, user, sku, location, counted, lot=books.lot, reference=reference, most=most
        )
        if waiting is not None:
            waiting.status = CountReviewStatus.BOOKED if agrees else CountReviewStatus.RECOUNTED
            waiting.decided_by, waiting.decided_at = (user.id if user else None), utcnow()
        return Counted(sku, books.lot, difference, movement, waiting)
    review = waiting or CountReview(
        location_id=books.location.id, product_id=books.product.id, lot=books.lot,
        expiry=books.expiry,
    )  # fmt: skip
    review.counted, review.on_books = counted, books.qty
    review.counted_by, review.counted_at = (user.id if user else None), utcnow()
    review.status = CountReviewStatus.PENDING
    session.add(review)
    session.flush()
    return Counted(sku, books.lot, difference, None, review)


def count_location(
    session: Session,
    user: User | None,
    location: str,
    counted: dict[tuple[str, str], int],
    rules: CountingConfig,
    reference: str = "",
    most: int | None = None,
) -> list[Counted]:
    """Book the count of a whole bin, item by item (see count_item). Every item the books
    say the bin holds must be counted, 0 ("none here") said as such: an item left uncounted
    is refused, never written off."""
    bin_ = location_for_code(session, location)
    held = session.execute(
        select(Product.sku, Stock.lot)
        .join(Stock.product)
        .where(Stock.location_id == bin_.id, Stock.qty > 0)
        .order_by(Product.sku, Stock.lot)
    ).all()
    missing = [(sku, lot) for sku, lot in held if (sku, lot) not in counted]
    if missing:
        sku, lot = missing[0]
        raise InvalidInput(
            f"{sku}{f' (lot {lot})' if lot else ''} is not counted: count it, or say none is here.",
            field="counted",
            code="not_counted",
        )
    return [
        count_item(
            session, user, sku, location, qty, rules, lot=lot, reference=reference, most=most
        )
        for (sku, lot), qty in sorted(counted.items())
    ]


def pending_reviews(session: Session) -> list[CountReview]:
    """Counts waiting for a second count or a supervisor, oldest first."""
    return list(
        session.scalars(
            select(CountReview)
            .where(CountReview.status == CountReviewStatus.PENDING)
            .order_by(CountReview.id)
            .options(
                selectinload(CountReview.location),
                selectinload(CountReview.product),
                selectinload(CountReview.counter),
            )
        )
    )


def _waiting_review(session: Session, review_id: int) -> CountReview:
    review = (
        session.get(CountReview, review_id, populate_existing=True) if check_id(review_id) else None
    )
    if review is None:
        raise NotFound(f"No count waits with id {review_id}.", code="unknown_count_review")
    if review.status != CountReviewStatus.PENDING:
        raise Conflict(f"Count {review.id} is {review.status} already.", code="count_decided")
    return review


def approve(session: Session, user: User, review_id: int, most: int | None = None) -> Counted:
    """A supervisor approves a count in review: its difference to the books of then is booked
    now (what moved since stays), never below zero."""
    review = _waiting_review(session, review_id)
    books = on_books(session, review.product.sku, review.location.code, review.lot)
    counted = max(books.qty + review.difference, 0)
    movement = count(
        session, user, review.product.sku, review.location.code, counted, lot=review.lot,
        reference=f"count {review.id}", most=most,
    )  # fmt: skip
    review.status, review.decided_by, review.decided_at = (
        CountReviewStatus.BOOKED,
        user.id,
        utcnow(),
    )
    session.flush()
    return Counted(review.product.sku, review.lot, review.difference, movement, review)


def reject(session: Session, user: User, review_id: int) -> CountReview:
    """A supervisor turns a count in review down: the books stay; the bin may be counted again."""
    review = _waiting_review(session, review_id)
    review.status, review.decided_by, review.decided_at = (
        CountReviewStatus.REJECTED, user.id, utcnow(),
    )  # fmt: skip
    session.flush()
    return review


def open_count_tasks(session: Session) -> list[CountTask]:
    """Bins to count after short picks, oldest first."""
    return list(
        session.scalars(
            select(CountTask)
            .where(CountTask.done_at.is_(None))
            .order_by(CountTask.id)
            .options(selectinload(CountTask.location), selectinload(CountTask.product))
        )
    )
