"""Barcode sheets printed from the warehouse's own data (bins, products, badges) read back
from the rasterized PDF; the supervisor's printing page with every job's state and reprints."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tests.conftest import REPO, WAREHOUSE, Floor, Person, free_port, warehouse_command
from tests.printer import FakePrinter
from tests.unit.test_labels_render import read_sheet
from warehouse import printing
from warehouse.config import Config, DatabaseConfig, PrinterConfig
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.models import Location, PrintJob, Product, User

# Not collected again by tests/pg: sheets are drawn from the demo data, and the drawing is
# what is under test.
POSTGRESQL = False


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sheets')}/warehouse.sqlite3"
    warehouse_command(url, "init")
    warehouse_command(url, "demo")
    return url


def sheet(url: str, tmp_path: Path, *args: str) -> bytes:
    out = tmp_path / "sheet.pdf"
    warehouse_command(url, "sheet", *args, "-o", str(out))
    return out.read_bytes()


def rows(url: str, statement: Select[Any]) -> list[str | None]:
    engine = make_engine(DatabaseConfig(url=url))
    with make_sessionmaker(engine)() as session:
        found = list(session.scalars(statement))
    engine.dispose()
    return found


def test_location_sheet_of_an_aisle_reads_back(demo_url: str, tmp_path: Path) -> None:
    aisle = rows(demo_url, select(Location.code).where(Location.code.startswith("A01")))
    assert aisle
    zx, zb, _pages = read_sheet(sheet(demo_url, tmp_path, "locations", "--prefix", "A01"))
    assert {text for _, text in zx} == set(aisle) == {text for _, text in zb}


def test_product_sheet_carries_each_products_ean(demo_url: str, tmp_path: Path) -> None:
    skus = rows(demo_url, select(Product.sku).where(Product.sku.startswith("SKU-000")))
    zx, zb, _pages = read_sheet(sheet(demo_url, tmp_path, "products", "--prefix", "SKU-000"))
    # The demo's products carry EAN-13s: the sheet has one per product.
    assert len({text for symbology, text in zb if symbology == "EAN13"}) == len(skus) == 9
    assert len(zx) == len(skus)


def test_badge_sheet_reads_back_every_active_badge(demo_url: str, tmp_path: Path) -> None:
    badges = rows(demo_url, select(User.badge).where(User.active, User.badge.is_not(None)))
    zx, zb, _pages = read_sheet(sheet(demo_url, tmp_path, "badges", "--paper", "Letter"))
    assert {text for _, text in zb} == set(badges) == {text for _, text in zx}


def test_a_sheet_of_nothing_is_refused(demo_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "WAREHOUSE_CONFIG": str(REPO / "config.toml"),
        "WAREHOUSE_DATABASE_URL": demo_url,
    }
    out = tmp_path / "none.pdf"
    done = subprocess.run(
        [str(WAREHOUSE), "sheet", "locations", "--prefix", "ZZ9", "-o", str(out)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode != 0 and "No locations start with 'ZZ9'" in done.stderr
    assert not out.exists()


def test_the_printing_page_shows_states_and_reprints(
    app: Flask, config: Config, staff: dict[str, Person], db: Session
) -> None:
    port = free_port()
    printers = {"sheet-test": PrinterConfig(kind="tcp", host="127.0.0.1", port=port)}
    factory = make_sessionmaker(db.get_bind())  # type: ignore[arg-type]
    with writing(factory) as session:
        job = printing.queue_job(session, printers, "sheet-test", "zpl", b"^XA^XZ", "test label")
        job_id = job.id
    # The printer is off: the job waits, with the error, and is shown so.
    printing.dispatch(factory, printers)
    lead = Floor(app.test_client(), staff["supervisor"])
    page = lead.client.get("/printing")
    row = page.text[page.text.index(f'data-job="{job_id}"') :]
    assert "queued" in row[:600] and "refused the connection" in row[:600]
    printer = FakePrinter(port)
    try:
        # A job still waiting is tried again, not doubled (two labels with one SSCC).
        retried = lead.form("/printing", job=job_id)
        assert retried.status_code == 200 and f"Job {job_id} is tried again now" in retried.text
        assert lead.form("/printing", job=999999999).status_code == 404
        printing.dispatch(factory, printers)
        assert printer.wait_for(1) == [b"^XA^XZ"]
        # Once printed, a reprint is a job of its own, and it comes through alone.
        reprinted = lead.form("/printing", job=job_id)
        assert reprinted.status_code == 200 and f"Job {job_id} sent again" in reprinted.text
        printing.dispatch(factory, printers)
        assert printer.wait_for(2) == [b"^XA^XZ", b"^XA^XZ"]
    finally:
        printer.close()
    db.rollback()
    assert {
        j.status for j in db.scalars(select(PrintJob).where(PrintJob.printer == "sheet-test"))
    } == {"sent"}
    badges = lead.client.get("/printing/sheets/badges.pdf?prefix=super")
    assert badges.status_code == 200 and badges.data.startswith(b"%PDF")
    assert lead.client.get("/printing/sheets/pallets.pdf").status_code == 404
    picker = Floor(app.test_client(), staff["picker"])
    assert picker.client.get("/printing").status_code == 403
    assert picker.client.get("/printing/sheets/badges.pdf").status_code == 403
