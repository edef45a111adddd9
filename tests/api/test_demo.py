"""`warehouse init` and `warehouse demo` on an empty database, as the README's run command does."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from scanners.gtin import normalize_gtin
from warehouse.cli import main
from warehouse.config import Config, DatabaseConfig
from warehouse.db import make_engine, make_sessionmaker
from warehouse.models import ROLES, Barcode, Location, Product, Stock, User


def run(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"WAREHOUSE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_loads_a_small_warehouse_once(empty_database_url: str) -> None:
    url = empty_database_url
    run(url, "init")
    run(url, "init")
    first = run(url, "demo")
    assert "Demo warehouse loaded." in first
    assert "badge U000004  PIN 4444" in first
    assert first.splitlines()[-1].startswith("API token for shop-bot (shown once): wh_")
    assert "All stock invariants hold" in run(url, "check")

    engine = make_engine(Config(database=DatabaseConfig(url=url)).database)
    with make_sessionmaker(engine)() as session:
        counts = {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Product, Location, Stock, User)
        }
        assert counts["Product"] >= 50
        assert counts["Location"] >= 100
        assert sorted(session.scalars(select(User.role))) == sorted(ROLES)
        for code in session.scalars(select(Barcode.entered)):
            normalize_gtin(code)  # every demo barcode is a valid GTIN
        assert session.scalar(
            select(func.count()).select_from(Stock).where(Stock.expiry.is_not(None))
        )
        # Returns wait in quarantine, on hand but not for sale; everything else is for sale.
        apart = session.scalars(select(Location.code).where(Location.sellable.is_(False)))
        assert list(apart) == ["QUAR-01"]

    again = run(url, "demo")
    assert "already holds data" in again
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == counts["Product"]
    engine.dispose()


def test_demo_needs_init_first(empty_database_url: str) -> None:
    result = CliRunner().invoke(main, ["demo"], env={"WAREHOUSE_DATABASE_URL": empty_database_url})
    assert result.exit_code == 1
    assert "run `warehouse init` first" in result.output
