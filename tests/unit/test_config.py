"""config.toml and its environment overrides: defaults, overrides, and errors that name the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
WAREHOUSE = Path(sys.executable).parent / "warehouse"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_toml_is_valid_and_matches_the_defaults() -> None:
    shipped = load_config(REPO / "config.toml", environ={})
    defaults = load_config(REPO / "no-such-file.toml", environ={})
    assert shipped.auth == defaults.auth
    assert shipped.warehouse == defaults.warehouse
    assert shipped.database.url.endswith("/var/warehouse.sqlite3")
    assert shipped.stations["pack1"].printer == "pack1"


def test_relative_sqlite_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite:///data/w.db"\n')
    assert load_config(path, environ={}).database.url == f"sqlite:///{tmp_path}/data/w.db"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[auth]\nidle_minutes = 5\n")
    config = load_config(
        path,
        environ={
            "WAREHOUSE_DATABASE_URL": "postgresql://db/w",
            "WAREHOUSE_AUTH_IDLE_MINUTES": "30",
            "WAREHOUSE_AUTH_BADGE_PIN_REQUIRED": "false",
            "WAREHOUSE_TEST_SOMETHING": "not a config key",
        },
    )
    assert config.database.url == "postgresql://db/w"
    assert config.auth.idle_minutes == 30
    assert config.auth.badge_pin_required is False


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[server]\nprot = 8000\n", "server.prot: unknown key"),
        ("[sever]\nport = 8000\n", "sever: unknown key"),
        ('[server]\nport = "eighty"\n', "server.port"),
        ("[server]\nport = 70000\n", "server.port"),
        ("[auth]\nfree_attempts = 5\nmax_attempts = 4\n", "max_attempts must be greater"),
        (
            '[warehouse]\nlocation_pattern = "([A-Z"\n',
            "warehouse.location_pattern: not a regular",
        ),
        ('[warehouse]\nlocation_pattern = "[A-Z]+"\n', "needs the named groups"),
        ('[labels]\ncompany_prefix = "12AB"\n', "labels.company_prefix"),
        ("[labels]\ndpi = 600\n", "labels.dpi"),
        ('[printers.p1]\nkind = "tcp"\n', "a tcp printer needs host"),
        ('[stations.s1]\nprinter = "ghost"\n', "no printer is named 'ghost'"),
        ("[server\nport = 1\n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=r"config\.toml") as refused:
        load_config(write(tmp_path, text), environ={})
    assert named in str(refused.value)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"WAREHOUSE_DATABASE_ULR": "x"}, "WAREHOUSE_DATABASE_ULR: database has no key 'ulr'"),
        ({"WAREHOUSE_SERVER_PORT": "http"}, "WAREHOUSE_SERVER_PORT"),
        ({"WAREHOUSE_PRINTERS__PACK1__HOTS": "x"}, "WAREHOUSE_PRINTERS__PACK1__HOTS: unknown key"),
        ({"WAREHOUSE_PRINTERS__PACK1__PORT": "nine"}, "WAREHOUSE_PRINTERS__PACK1__PORT"),
        ({"WAREHOUSE_PRINTERS__PACK2__HOST": "10.0.0.9"}, "WAREHOUSE_PRINTERS__PACK2__HOST"),
        ({"WAREHOUSE_STATIONS__PACK1__PRINTER": "nowhere"}, "no printer is named 'nowhere'"),
        ({"WAREHOUSE_PRINTER__PACK1__HOST": "x"}, "config.toml has no section 'printer'"),
        ({"WAREHOUSE_DATABASE_URL": ""}, "WAREHOUSE_DATABASE_URL: is empty"),
        ({"WAREHOUSE_DATABASE_URL": "warehouse.db"}, "WAREHOUSE_DATABASE_URL: is not a database"),
        ({"WAREHOUSE_DATABASE_URL": "mysql://db/w"}, "WAREHOUSE_DATABASE_URL: names a mysql"),
    ],
)
def test_a_bad_override_is_refused_naming_the_variable(
    tmp_path: Path, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, ""), environ=environ)
    assert named in str(refused.value)


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(environ={"WAREHOUSE_CONFIG": str(tmp_path / "missing.toml")})


@pytest.mark.parametrize(
    "pattern", ["O.*", "O[0-9]+", "(O)[0-9]{8}", "O[0-9]{8}|P[0-9]{8}", "[0-9]{9}", "7[0-9]{8}"]
)
def test_an_order_pattern_the_service_cannot_write_is_refused(tmp_path: Path, pattern: str) -> None:
    # The service prints order codes on packing slips, so it must be able to write them.
    with pytest.raises(ConfigError, match=r"ORDER_PATTERN.*fixed text"):
        load_config(tmp_path / "none.toml", {"WAREHOUSE_SCANNERS_ORDER_PATTERN": pattern})


def test_overrides_reach_nested_sections(tmp_path: Path) -> None:
    config = load_config(
        REPO / "config.toml",
        environ={
            "WAREHOUSE_PRINTERS__PACK1__HOST": "192.0.2.7",
            "WAREHOUSE_PRINTERS__PACK1__PORT": "9101",
            "WAREHOUSE_PRINTERS__PACK2__KIND": "cups",
            "WAREHOUSE_PRINTERS__PACK2__QUEUE": "zebra2",
            "WAREHOUSE_STATIONS__PACK2__PRINTER": "pack2",
            "WAREHOUSE_LABELS__SHIP_FROM__CITY": "Lyon",
            "WAREHOUSE_BOXES__SMALL__WEIGHT_G": "160",
            "WAREHOUSE_AUTH__IDLE_MINUTES": "20",
        },
    )
    assert (config.printers["pack1"].host, config.printers["pack1"].port) == ("192.0.2.7", 9101)
    assert config.printers["pack1"].kind == "tcp"  # the rest of the file's table stays
    assert config.printers["pack2"].queue == "zebra2"
    assert config.stations["pack2"].printer == "pack2"
    assert config.stations["pack1"].printer == "pack1"
    assert config.labels.ship_from.city == "Lyon" and config.labels.ship_from.name
    assert config.boxes["small"].weight_g == 160
    assert config.auth.idle_minutes == 20


@pytest.mark.parametrize("url", ["", "   ", "not a url", "sqlite//w.db", "mysql://db/w"])
def test_a_bad_database_url_stops_the_command_with_one_line(tmp_path: Path, url: str) -> None:
    done = subprocess.run(
        [str(WAREHOUSE), "check"],
        env={
            **os.environ,
            "WAREHOUSE_CONFIG": str(REPO / "config.toml"),
            "WAREHOUSE_DATABASE_URL": url,
        },
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        "Error: configuration refused: environment: WAREHOUSE_DATABASE_URL: "
    )
