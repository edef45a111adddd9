"""Fixtures shared by the suites: an app on a migrated database, API clients per role, builders.

The database is SQLite unless a suite's conftest overrides `database_url` (tests/pg does).
Builders make rows with random references, so tests never depend on each other's data.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from scanners.gtin import with_check_digit
from warehouse import accounts, migrate
from warehouse.app import create_app
from warehouse.config import Config, DatabaseConfig
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.models import ROLES, FloorState, User

WAREHOUSE = Path(sys.executable).parent / "warehouse"
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def warehouse_command(url: str, *args: str) -> str:
    """Run the `warehouse` command on a database; returns what it printed."""
    env = {
        **os.environ,
        "WAREHOUSE_CONFIG": str(REPO / "config.toml"),
        "WAREHOUSE_DATABASE_URL": url,
    }
    done = subprocess.run([str(WAREHOUSE), *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextmanager
def running_service(
    url: str,
    workers: int = 2,
    port: int | None = None,
    env: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
    output: list[str] | None = None,
) -> Iterator[str]:
    """`warehouse serve` (gunicorn) on a migrated database; yields its base URL.

    `env` adds settings (WAREHOUSE_...); `tls` is the client context for a service on HTTPS;
    `output`, when given, receives what the service printed, once it has stopped.
    """
    with serving(url, workers, port, env, tls, output) as (base, _server):
        yield base


@contextmanager
def serving(
    url: str,
    workers: int = 2,
    port: int | None = None,
    env: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
    output: list[str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """running_service, yielding the gunicorn master too: it leads a process group of its own
    (with its workers), which a test may kill whole."""
    port = port or free_port()
    env = {
        **os.environ,
        "WAREHOUSE_CONFIG": str(REPO / "config.toml"),
        "WAREHOUSE_DATABASE_URL": url,
        **(env or {}),
    }
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(
            [str(WAREHOUSE), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1, context=tls) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    log.seek(0)
                    pytest.fail(f"the service did not start:\n{log.read()}")
                time.sleep(0.2)
        try:
            yield base, server
        finally:
            server.terminate()
            server.wait(timeout=20)
            if output is not None:
                log.seek(0)
                output.append(log.read())


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    """A pseudo-terminal standing in for a serial scanner: the master to write scans to,
    and the slave's path for the agent to open."""
    master, slave = os.openpty()
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def ref(prefix: str = "T") -> str:
    """A reference no other test uses."""
    return f"{prefix}-{secrets.token_hex(5).upper()}"


def random_gtin13() -> str:
    return with_check_digit("2" + "".join(random.choices("0123456789", k=11)))


def random_bin() -> str:
    """A bin code in the default location pattern (aisle-bay-level)."""
    letter = random.choice("BCDEFGHJKLMNPRSTVWXY")
    return f"{letter}{random.randrange(100):02d}-{random.randrange(100):02d}-{random.randrange(10)}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "warehouse.sqlite3")


@pytest.fixture
def empty_database_url(tmp_path: Path) -> str:
    """A database of its own with nothing in it, not even tables."""
    return "sqlite:///" + str(tmp_path / "empty.sqlite3")


@pytest.fixture(scope="session")
def config(database_url: str) -> Config:
    return Config(database=DatabaseConfig(url=database_url))


@pytest.fixture(scope="session")
def engine(config: Config) -> Iterator[Engine]:
    engine = make_engine(config.database)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def service_app(config: Config) -> Flask:
    """The service for a configuration, in testing mode."""
    app = create_app(config)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="session")
def app(config: Config, engine: Engine) -> Flask:
    return service_app(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session for reading what the requests did."""
    with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture(scope="session")
def tokens(engine: Engine, config: Config) -> dict[str, str]:
    """One user and API token per role."""
    out = {}
    with writing(make_sessionmaker(engine)) as session:
        for role in ROLES:
            name = ref(role)
            accounts.add_user(session, name, role, config.auth)
            out[role] = accounts.create_token(session, name)
    return out


PASSWORD = "correct-horse-1"


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    badge: str
    pin: str


@pytest.fixture(scope="session")
def staff(engine: Engine, config: Config) -> dict[str, Person]:
    """One person per role but integration, with the password PASSWORD, a badge and a PIN."""
    out = {}
    with writing(make_sessionmaker(engine)) as session:
        for role in ROLES:
            if role != "integration":
                new = accounts.add_user(session, ref(role), role, config.auth, password=PASSWORD)
                assert new.badge and new.pin
                out[role] = Person(new.user.name, role, new.badge, new.pin)
    return out


class ApiClient:
    """The Flask test client speaking JSON with a role's bearer token."""

    def __init__(self, client: FlaskClient, tokens: dict[str, str], role: str = "admin"):
        self.client, self.tokens, self.role = client, tokens, role

    def as_role(self, role: str) -> ApiClient:
        return ApiClient(self.client, self.tokens, role)

    def request(self, method: str, url: str, json: Any = None, **kwargs: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.tokens[self.role]}", **kwargs.pop("headers", {})}
        return self.client.open(url, method=method, json=json, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", url, **kwargs)

    def put(self, url: str, json: Any = None) -> TestResponse:
        return self.request("PUT", url, json)

    def post(self, url: str, json: Any = None) -> TestResponse:
        return self.request("POST", url, json)


class Floor:
    """A signed-in person on the floor flows as the handheld pages work them: JSON events with
    a client scan id, in a browser session with its CSRF token."""

    def __init__(self, client: FlaskClient, person: Person):
        self.client = client
        token = client.get("/api/session").json["csrf_token"]
        done = client.post(
            "/api/session",
            json={"name": person.name, "password": PASSWORD},
            headers={"X-CSRFToken": token},
        )
        assert done.status_code == 200, done.text
        # Signing in starts a new session, with a new CSRF token.
        self.csrf = done.json["csrf_token"]

    def send(self, flow: str, event: dict[str, Any], scan_id: str | None = None) -> TestResponse:
        body = {"scan_id": scan_id or secrets.token_hex(16), **event}
        return self.client.post(f"/api/floor/{flow}", json=body, headers={"X-CSRFToken": self.csrf})

    def scan(self, flow: str, code: str, scan_id: str | None = None) -> TestResponse:
        return self.send(flow, {"scan": {"code": code, "entry": "scanner"}}, scan_id)

    def act(self, flow: str, name: str, scan_id: str | None = None, **values: Any) -> TestResponse:
        return self.send(flow, {"action": {"name": name, "values": values}}, scan_id)

    def form(self, path: str, **form: Any) -> TestResponse:
        """A form posted on one of the office pages (counts, people, printing)."""
        return self.client.post(path, data={"csrf_token": self.csrf, **form})

    def view(self, flow: str) -> dict[str, Any]:
        page = self.client.get(f"/api/floor/{flow}")
        assert page.status_code == 200, page.text
        return page.json  # type: ignore[no-any-return]


@pytest.fixture
def floor(client: FlaskClient, staff: dict[str, Person], engine: Engine) -> Callable[[str], Floor]:
    """Signs in the person of a role with every floor flow at its start."""

    def signed_in(role: str) -> Floor:
        person = select(User.id).where(User.name == staff[role].name).scalar_subquery()
        with writing(make_sessionmaker(engine)) as session:
            session.execute(delete(FloorState).where(FloorState.user_id == person))
        return Floor(client, staff[role])

    return signed_in


# What must never reach a worker: exception text, errno, regular expressions, raw JSON.
NOT_FLOOR_WORDS = ("Errno", "Traceback", "Exception", "(?P", "[0-9]", "\\d", '{"', "{'")


@pytest.fixture
def receiver(floor: Callable[[str], Floor]) -> Floor:
    return floor("receiver")


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions of the test database, for domain functions called directly."""
    return make_sessionmaker(engine)


@pytest.fixture
def channel(api: ApiClient) -> str:
    return make_channel(api)


def said(answer: TestResponse) -> str:
    """The sentence a floor answer shows the worker, refused or not; checked to be in floor
    words."""
    body = answer.json
    assert body is not None, answer.text
    text: str = body["error"]["message"] if "error" in body else body["message"]
    assert not any(bad in text for bad in NOT_FLOOR_WORDS), text
    return text


@pytest.fixture
def api(client: FlaskClient, tokens: dict[str, str]) -> ApiClient:
    return ApiClient(client, tokens)


def make_product(api: ApiClient, **fields: Any) -> dict[str, Any]:
    """A new product with a random SKU and GTIN; returns its JSON."""
    sku = fields.pop("sku", ref("SKU"))
    body = {"name": f"Test product {sku}", "barcodes": [random_gtin13()], **fields}
    response = api.put(f"/api/products/{sku}", body)
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def make_location(api: ApiClient, code: str | None = None, **fields: Any) -> str:
    """A new bin; returns its code."""
    while code is None:
        candidate = random_bin()
        if api.get(f"/api/locations/{candidate}").status_code == 404:
            code = candidate
    response = api.put(f"/api/locations/{code}", fields)
    assert response.status_code == 201, response.json
    return code


def receive(api: ApiClient, sku: str, location: str, qty: int, **fields: Any) -> dict[str, Any]:
    response = api.post(
        "/api/stock/receipts", {"sku": sku, "location": location, "qty": qty, **fields}
    )
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def shipment_of(api: ApiClient, order: int) -> int:
    """The id of the order's latest shipment, as GET /api/orders/{id} lists it."""
    answer = api.as_role("admin").get(f"/api/orders/{order}")
    assert answer.status_code == 200 and answer.json["shipments"], answer.json
    return int(answer.json["shipments"][-1]["id"])


def stock_of(api: ApiClient, sku: str) -> dict[str, Any]:
    response = api.get(f"/api/stock/{sku}")
    assert response.status_code == 200, response.json
    return response.json  # type: ignore[no-any-return]


def make_channel(api: ApiClient, **fields: Any) -> str:
    """A new channel; returns its code."""
    code = ref("ch").lower()
    response = api.put(f"/api/channels/{code}", {"name": f"Channel {code}", **fields})
    assert response.status_code == 201, response.json
    return code


def stocked_product(api: ApiClient, qty: int) -> str:
    """A new product with qty units in a new bin; returns its SKU."""
    sku = str(make_product(api)["sku"])
    if qty:
        receive(api, sku, make_location(api), qty)
    return sku


SHIP_TO = {
    "name": "Ann Lee",
    "street1": "1 Main Street",
    "city": "Springfield",
    "postal_code": "62701",
    "country": "US",
}


def order_body(
    lines: dict[str, int], external_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    """An order for {sku: qty} with a fresh external id."""
    return {
        "external_id": external_id or ref("EXT"),
        "lines": [{"sku": sku, "qty": qty} for sku, qty in lines.items()],
        "ship_to": dict(SHIP_TO),
        **fields,
    }
