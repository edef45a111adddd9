"""The schema, the ledger and the invariants, on the suite's database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import ApiClient, make_location, make_product, receive, ref
from warehouse import migrate
from warehouse.cli import main
from warehouse.config import Config
from warehouse.models import Base


def test_the_migrations_and_the_models_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_init_is_idempotent(engine: Engine) -> None:
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()


def _cli(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, list(args), env={"WAREHOUSE_DATABASE_URL": config.database.url}
    )
    return result.exit_code, result.output


def test_the_ledger_is_append_only(api: ApiClient, engine: Engine) -> None:
    sku = make_product(api)["sku"]
    movement = receive(api, sku, make_location(api), 3)
    for statement in (
        f"UPDATE movement SET qty = 30 WHERE id = {movement['id']}",
        f"DELETE FROM movement WHERE id = {movement['id']}",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))


def test_check_names_each_violation(api: ApiClient, engine: Engine, config: Config) -> None:
    code, output = _cli(config, "check")
    assert code == 0, output
    assert output.startswith("All stock invariants hold")
    sku = make_product(api)["sku"]
    bin_ = make_location(api)
    receive(api, sku, bin_, 5)
    # Tamper behind the ledger's back: the bin and the product total both disagree now.
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE stock SET qty = 4 WHERE product_id = (SELECT id FROM product WHERE sku = :sku)"
            ),
            {"sku": sku},
        )
    try:
        code, output = _cli(config, "check")
        assert code == 1
        assert f"{sku} at {bin_}: 4 on hand but the ledger sums to 5" in output
        assert f"{sku}: product total 5 on hand but its bins hold 4" in output
    finally:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE stock SET qty = 5 WHERE product_id = "
                    "(SELECT id FROM product WHERE sku = :sku)"
                ),
                {"sku": sku},
            )
    assert _cli(config, "check")[0] == 0


def test_the_database_refuses_reserved_above_on_hand(api: ApiClient, engine: Engine) -> None:
    sku = make_product(api)["sku"]
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text("UPDATE product SET reserved = 1 WHERE sku = :sku"), {"sku": sku})


def test_user_and_token_commands(config: Config) -> None:
    name = ref("cli-bot")
    code, output = _cli(config, "user", "add", name, "--role", "integration")
    assert code == 0, output
    code, output = _cli(config, "token", "create", name)
    assert code == 0
    lines = output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wh_")
    code, output = _cli(config, "token", "create", "no-such-user")
    assert code == 1 and "No user is named 'no-such-user'" in output
    code, output = _cli(config, "user", "add", "x-person", "--role", "wizard")
    assert code == 2 and "wizard" in output
    code, output = _cli(config, "user", "add", name, "--role", "picker")
    assert code == 1 and "already exists" in output


def test_a_bad_config_stops_the_cli(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_text("[auth]\nidle_minute = 5\n")
    result = CliRunner().invoke(main, ["--config", str(path), "check"])
    assert result.exit_code == 1
    assert "auth.idle_minute: unknown key" in result.output
