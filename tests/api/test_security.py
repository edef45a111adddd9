"""Who may call what: bearer tokens, the role matrix, CSRF on cookie sessions."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, ApiClient, Person, make_location, make_product, ref
from warehouse.app import create_app
from warehouse.config import Config, DatabaseConfig, ServerConfig
from warehouse.endpoints import check_every_endpoint
from warehouse.models import ApiToken, User
from warehouse.roles import PERMISSIONS


def test_no_credentials_is_401_json(client: FlaskClient) -> None:
    response = client.get("/api/products/ANY")
    assert response.status_code == 401
    assert response.json == {
        "error": {"code": "unauthorized", "message": "Log in or send a bearer token."}
    }


def test_a_bad_token_is_401(client: FlaskClient) -> None:
    response = client.get("/api/products/ANY", headers={"Authorization": "Bearer wh_nonsense"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_health_and_openapi_need_no_user(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/stock/receipts" in spec["paths"]
    receipt = spec["paths"]["/api/stock/receipts"]["post"]
    assert receipt["requestBody"]["content"]["application/json"]["schema"]


def test_health_says_when_the_database_is_down(config: Config) -> None:
    down = config.model_copy(
        update={
            "database": DatabaseConfig(url="postgresql://nobody@127.0.0.1:1/none"),
            "server": ServerConfig(secret_key="x" * 32),
        }
    )
    response = create_app(down).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "database_unavailable"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("picker", 403),
        ("packer", 403),
        ("receiver", 403),
        ("supervisor", 201),
        ("integration", 201),
    ],
)
def test_the_role_matrix_decides_who_edits_the_catalog(
    api: ApiClient, role: str, status: int
) -> None:
    response = api.as_role(role).put(f"/api/products/{ref('ROLE')}", {"name": "x"})
    assert response.status_code == status
    if status == 403:
        assert response.json["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("role", "allowed"), [("receiver", True), ("picker", False), ("integration", False)]
)
def test_receiving_by_role(api: ApiClient, role: str, allowed: bool) -> None:
    sku, bin_ = make_product(api)["sku"], make_location(api)
    response = api.as_role(role).post(
        "/api/stock/receipts", {"sku": sku, "location": bin_, "qty": 1}
    )
    assert response.status_code == (201 if allowed else 403)


def test_every_endpoint_names_a_permission(app: Flask) -> None:
    for endpoint, view in app.view_functions.items():
        permission = getattr(view, "_permission", None)
        assert (
            permission in PERMISSIONS
            or getattr(view, "_public", False)
            or endpoint in ("static", "api-docs.openapi_json")
        ), endpoint


def test_an_endpoint_without_a_permission_stops_start_up(config: Config) -> None:
    app = create_app(config)

    def unguarded() -> str:
        return "open"

    app.add_url_rule("/unguarded", view_func=unguarded)
    with pytest.raises(RuntimeError, match="unguarded names no permission"):
        check_every_endpoint(app)


def test_tokens_are_stored_hashed(api: ApiClient, db: Session, tokens: dict[str, str]) -> None:
    stored = db.scalars(select(ApiToken.token_hash)).all()
    for token in tokens.values():
        assert token not in stored
        assert all(token not in value for value in stored)


def _csrf(client: FlaskClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def _sign_in(client: FlaskClient, name: str, password: str) -> None:
    token = _csrf(client)
    response = client.post("/login", data={"code": name, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.text


def test_a_cookie_session_needs_a_csrf_header_to_write(
    client: FlaskClient, api: ApiClient, staff: dict[str, Person]
) -> None:
    _sign_in(client, staff["receiver"].name, PASSWORD)
    sku, bin_ = make_product(api)["sku"], make_location(api)
    body = {"sku": sku, "location": bin_, "qty": 2}
    refused = client.post("/api/stock/receipts", json=body)
    assert refused.status_code == 400
    assert refused.json["error"]["code"] == "csrf_failed"
    token = _csrf(client, "/")
    accepted = client.post("/api/stock/receipts", json=body, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201
    assert accepted.json["user"] == staff["receiver"].name
    assert client.get(f"/api/stock/{sku}").json["on_hand"] == 2


def test_a_login_form_without_csrf_is_refused(
    client: FlaskClient, staff: dict[str, Person]
) -> None:
    response = client.post("/login", data={"code": staff["picker"].name, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_passwords_and_pins_are_stored_hashed(db: Session, staff: dict[str, Person]) -> None:
    user = db.scalars(select(User).where(User.name == staff["picker"].name)).one()
    assert user.password_hash and PASSWORD not in user.password_hash
    assert user.pin_hash and user.pin_hash.startswith(("scrypt:", "pbkdf2:"))
