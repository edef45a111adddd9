"""config.toml and its environment overrides: defaults, overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


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
