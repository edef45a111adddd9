"""The database suites again on a real PostgreSQL server, each run in databases of its own.

WAREHOUSE_TEST_PG_URL names the server (a database there to connect to first). There is
no skipping: when the server does not answer, every test here fails and says why.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine

# Fixtures built on the database, declared again here so that this suite gets its own
# instances on PostgreSQL rather than the SQLite ones of a run that includes tests/api.
from tests.conftest import app, config, engine, staff, tokens  # noqa: F401

ADMIN_URL = os.environ.get(
    "WAREHOUSE_TEST_PG_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL does not answer at {ADMIN_URL} ({exc}). The README's test command "
            "starts one; set WAREHOUSE_TEST_PG_URL to use another.",
            pytrace=False,
        )


def _url_of(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def _create() -> str:
    name = f"warehouse_test_{secrets.token_hex(4)}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def _drop(name: str) -> None:
    with _admin() as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = _create()
    yield _url_of(name)
    _drop(name)


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    name = _create()
    yield _url_of(name)
    _drop(name)


@pytest.fixture(autouse=True)
def _on_postgresql(engine: Engine) -> None:  # noqa: F811
    assert engine.dialect.name == "postgresql", "the PostgreSQL suite is not on PostgreSQL"
