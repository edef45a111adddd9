"""`warehouse import orders`: a CSV file of order lines, streamed, idempotent, bad rows named."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from tests.conftest import ApiClient, make_channel, ref, stock_of, stocked_product
from warehouse.cli import main

HEADER = "external_id,sku,qty,unit_price,ship_to_name,ship_to_street1,ship_to_city,ship_to_postal_code,ship_to_country"


def run_import(database_url: str, path: Path, channel: str) -> Result:
    return CliRunner().invoke(
        main,
        ["import", "orders", str(path), "--channel", channel, "--batch-size", "2"],
        env={"WAREHOUSE_DATABASE_URL": database_url},
    )


def row(
    external_id: str, sku: str, qty: str, name: str = "Ann Lee", city: str = "Springfield"
) -> str:
    return f"{external_id},{sku},{qty},9.99,{name},1 Main St,{city},62701,US"


def test_a_file_is_imported_once(api: ApiClient, database_url: str, tmp_path: Path) -> None:
    channel = make_channel(api)
    a, b = stocked_product(api, 10), stocked_product(api, 1)
    ids = [ref("CSV") for _ in range(4)]
    path = tmp_path / "orders.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                row(ids[0], a, "2"),
                row(ids[0], b, "3"),
                row(ids[1], a, "1"),
                row(ids[2], a, "1"),
                row(ids[3], a, "1"),
                '"' + ids[3] + '",' + b + ',1,,"Lee, Ann",1 Main St,Springfield,62701,US',
            ]
        )
        + "\n"
    )
    first = run_import(database_url, path, channel)
    assert first.exit_code == 1  # the last order names its ship-to differently on its two lines
    assert "4 lines) imported" in first.output and "3 orders" in first.output
    assert f"orders.csv:7: order {ids[3]}: ship_to_name differs from line 6" in first.output
    assert stock_of(api, a)["reserved"] == 4
    assert stock_of(api, b)["reserved"] == 1
    again = run_import(database_url, path, channel)
    assert "0 orders (0 lines) imported, 3 already there, 1 refused." in again.output
    assert stock_of(api, a)["reserved"] == 4


def test_each_bad_order_is_named_by_its_line(
    api: ApiClient, database_url: str, tmp_path: Path
) -> None:
    channel = make_channel(api)
    sku = stocked_product(api, 50)
    good, zero, unknown, text, dup = (ref("CSV") for _ in range(5))
    path = tmp_path / "orders.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                row(zero, sku, "0"),
                row(good, sku, "2"),
                row(unknown, "NO-SUCH-SKU", "1"),
                row(text, sku, "two"),
                row(dup, sku, "1"),
                row(dup, sku, "1"),
                f"{ref('CSV')},{sku},1,9.99,Short row",
                '"unterminated,' + sku,
            ]
        )
        + "\n"
    )
    result = run_import(database_url, path, channel)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert lines[0] == f"{path}:2: order {zero}: lines[0].qty: Must be greater than or equal to 1."
    assert lines[1] == f"{path}:4: order {unknown}: No product has SKU 'NO-SUCH-SKU'."
    assert lines[2] == f"{path}:5: order {text}: lines[0].qty: Not a valid integer."
    assert lines[3].startswith(f"{path}:7: order {dup}: SKU {sku} is on more than one line")
    assert lines[4].endswith("5 fields where the header has 9")
    assert lines[5].endswith("not valid CSV: unexpected end of data")
    assert stock_of(api, sku)["reserved"] == 2


def test_a_wrong_header_stops_before_anything_is_stored(
    api: ApiClient, database_url: str, tmp_path: Path
) -> None:
    channel = make_channel(api)
    sku = stocked_product(api, 5)
    path = tmp_path / "orders.csv"
    path.write_text(f"order,sku,quantity\nA,{sku},1\n")
    result = run_import(database_url, path, channel)
    assert result.exit_code == 1
    assert "wrong header: missing external_id, qty" in result.output
    assert "unknown order, quantity" in result.output
    assert stock_of(api, sku)["reserved"] == 0


def test_a_file_that_is_not_text_or_a_channel_that_is_not_there(
    api: ApiClient, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(HEADER.encode() + b"\n\xff\xfe\x00garbage\n")
    result = run_import(database_url, path, make_channel(api))
    assert result.exit_code == 1 and "line 2 is not UTF-8 text" in result.output
    path.write_text(HEADER + "\n")
    result = run_import(database_url, path, "no-such-channel")
    assert result.exit_code == 1 and "No channel has code 'no-such-channel'." in result.output
