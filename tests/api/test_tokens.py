"""API tokens: bound to the channels they serve, expired, revoked; and what integrations,
pickers and station scans may no longer do."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_packing import pick_an_order
from tests.conftest import (
    PASSWORD,
    ApiClient,
    Person,
    make_channel,
    make_location,
    order_body,
    ref,
    shipment_of,
    stock_of,
    stocked_product,
    warehouse_command,
)
from warehouse import accounts, labelling, packing
from warehouse.config import Config, PrinterConfig
from warehouse.db import make_sessionmaker, writing
from warehouse.models import ApiToken, Order, OrderStatus, ScanLog, utcnow


def with_token(client: FlaskClient, token: str, method: str, url: str, json: Any = None) -> Any:
    return client.open(url, method=method, json=json, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def integration_name(engine: Engine, config: Config) -> str:
    """A new integration user, with no token yet."""
    with writing(make_sessionmaker(engine)) as session:
        return accounts.add_user(session, ref("bot"), "integration", config.auth).user.name


def test_a_token_bound_to_a_channel_serves_only_that_channel(
    api: ApiClient, client: FlaskClient, database_url: str, integration_name: str, db: Session
) -> None:
    mine, theirs = make_channel(api), make_channel(api)
    printed = warehouse_command(
        database_url, "token", "create", integration_name, "--channel", mine
    )
    (token,) = printed.splitlines()  # the token alone on its line
    sku = stocked_product(api, 10)
    taken = with_token(client, token, "POST", f"/api/channels/{mine}/orders", order_body({sku: 1}))
    assert taken.status_code == 201
    other = api.post(f"/api/channels/{theirs}/orders", order_body({sku: 2})).json["id"]
    unknown = with_token(client, token, "GET", "/api/orders/2147483000")
    # Another channel's things answer as if they did not exist.
    for method, url, body in [
        ("POST", f"/api/channels/{theirs}/orders", order_body({sku: 1})),
        ("GET", f"/api/channels/{theirs}/inventory", None),
        ("GET", f"/api/orders/{other}", None),
        ("POST", f"/api/orders/{other}/cancel", None),
    ]:
        answer = with_token(client, token, method, url, body)
        assert answer.status_code == 404, (url, answer.json)
        assert answer.json["error"]["code"] in ("unknown_channel", unknown.json["error"]["code"])
        assert "address" not in answer.text and "Ann Lee" not in answer.text
    db.rollback()
    assert db.get(Order, other).status == OrderStatus.RESERVED  # type: ignore[union-attr]
    assert stock_of(api, sku)["reserved"] == 3
    # Its own channel's order and feed it sees, and cancels.
    own = taken.json["id"]
    assert with_token(client, token, "GET", f"/api/orders/{own}").status_code == 200
    assert with_token(client, token, "GET", f"/api/channels/{mine}/inventory").status_code == 200
    cancelled = with_token(client, token, "POST", f"/api/orders/{own}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"


def test_a_token_bound_to_a_channel_sees_no_shipment_of_another(
    api: ApiClient, client: FlaskClient, factory: sessionmaker[Session], config: Config,
    integration_name: str, db: Session,
) -> None:  # fmt: skip
    picked = pick_an_order(api)
    config = config.model_copy(update={"printers": {"hand": PrinterConfig(kind="browser")}})
    with writing(factory) as session:
        carton = packing.open_carton(session, picked["order"], "small", config.boxes).id
        packing.pack_item(session, carton, picked["heavy"], 2)
        packing.pack_item(session, carton, picked["light"], 1)
        packing.close_carton(session, carton, 1200, config.boxes, config.packing)
        labelling.finish_packing(session, picked["order"], config, "hand")
    shipment = shipment_of(api, picked["order"])
    other = make_channel(api)
    with writing(factory) as session:
        elsewhere = accounts.create_token(session, integration_name, [other])
        everywhere = accounts.create_token(session, integration_name)
    for url, method in [
        (f"/api/shipments/{shipment}", "GET"),
        (f"/api/shipments/{shipment}/label?format=zpl", "GET"),
        (f"/api/shipments/{shipment}/cartons/1/label?tracking=1Z999&carrier=UPS", "PUT"),
    ]:
        answer = with_token(client, elsewhere, method, url)
        assert answer.status_code == 404 and answer.json["error"]["code"] == "unknown_shipment"
    assert with_token(client, everywhere, "GET", f"/api/shipments/{shipment}").status_code == 200


def test_a_revoked_token_answers_401(
    client: FlaskClient, database_url: str, integration_name: str
) -> None:
    token = warehouse_command(database_url, "token", "create", integration_name).strip()
    assert with_token(client, token, "GET", "/api/products/ANY").status_code == 404
    said = warehouse_command(database_url, "token", "revoke", token)
    assert integration_name in said
    answer = with_token(client, token, "GET", "/api/products/ANY")
    assert answer.status_code == 401 and answer.json["error"]["code"] == "invalid_token"


def test_revoking_a_token_nobody_has_is_said_so(database_url: str) -> None:
    from tests.conftest import REPO, WAREHOUSE

    done = subprocess.run(
        [str(WAREHOUSE), "token", "revoke", "wh_no-such-token"],
        env={
            **os.environ,
            "WAREHOUSE_CONFIG": str(REPO / "config.toml"),
            "WAREHOUSE_DATABASE_URL": database_url,
        },
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "No such token." in done.stderr


def test_an_expired_token_answers_401(
    client: FlaskClient, database_url: str, integration_name: str, engine: Engine
) -> None:
    token = warehouse_command(
        database_url, "token", "create", integration_name, "--expires-days", "1"
    ).strip()
    assert with_token(client, token, "GET", "/api/products/ANY").status_code == 404
    with writing(make_sessionmaker(engine)) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.hint == token[-4:], ApiToken.expires_at.is_not(None))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert with_token(client, token, "GET", "/api/products/ANY").status_code == 401


@pytest.mark.parametrize(
    ("role", "channel", "said"),
    [
        ("packer", "mine", "only an integration's token serves channels"),
        ("integration", "no-such-channel", "No channel has code 'no-such-channel'."),
    ],
)
def test_a_token_serves_only_channels_that_exist_and_only_for_integrations(
    api: ApiClient, engine: Engine, config: Config, role: str, channel: str, said: str
) -> None:
    code = make_channel(api) if channel == "mine" else channel
    with writing(make_sessionmaker(engine)) as session:
        name = accounts.add_user(session, ref(role), role, config.auth).user.name
    with pytest.raises(Exception, match=said), writing(make_sessionmaker(engine)) as session:
        accounts.create_token(session, name, [code])


def test_a_supervisor_revokes_a_token_on_the_people_page(
    app: Flask, staff: dict[str, Person], integration_name: str, engine: Engine
) -> None:
    with writing(make_sessionmaker(engine)) as session:
        token = accounts.create_token(session, integration_name)
    lead = app.test_client()
    from tests.api.test_login import csrf_of, post_login

    assert post_login(lead, code=staff["supervisor"].name, password=PASSWORD).status_code == 302
    listed = lead.get("/people").text
    row = listed[listed.index(f"…{token[-4:]}") :]
    assert integration_name in row[:300] and token not in listed
    token_id = row[: row.index('value="revoke"')].split('name="token" value="')[1].split('"')[0]
    done = lead.post(
        "/people",
        data={"csrf_token": csrf_of(lead, "/people"), "token": token_id, "action": "revoke"},
    )
    assert done.status_code == 200 and f"ending {token[-4:]}" in done.text
    assert with_token(app.test_client(), token, "GET", "/api/products/ANY").status_code == 401


def test_integrations_book_no_stock_and_read_no_badges(
    api: ApiClient, staff: dict[str, Person]
) -> None:
    sku, bin_ = stocked_product(api, 0), make_location(api)
    bot = api.as_role("integration")
    receipt = bot.post("/api/stock/receipts", {"sku": sku, "location": bin_, "qty": 5})
    assert receipt.status_code == 403 and stock_of(api, sku)["on_hand"] == 0
    badge = bot.post("/api/barcodes/resolve", {"code": staff["packer"].badge})
    assert badge.status_code == 403 and staff["packer"].name not in badge.text


@pytest.mark.parametrize("role", ["picker", "receiver", "supervisor", "integration"])
def test_station_scans_need_the_packing_permission(api: ApiClient, db: Session, role: str) -> None:
    scan_id = ref("scan")
    body = {"code": stocked_product(api, 0), "station": "pack1", "scan_id": scan_id}
    answer = api.as_role(role).post("/api/barcodes/resolve", body)
    allowed = role == "supervisor"
    assert answer.status_code != 403 if allowed else answer.status_code == 403
    db.rollback()
    logged = db.scalars(select(ScanLog).where(ScanLog.scan_id == scan_id)).all()
    assert bool(logged) == allowed


def quarantine_place(api: ApiClient) -> str:
    """A new place outside the aisles, such as quarantine: not a pick bin."""
    code = "QZ" + ref("").replace("-", "")[:6].upper().replace("0", "Q")
    code = "".join(c if c.isalpha() else "Q" for c in code)[:8] + "-1"
    answer = api.put(f"/api/locations/{code}", {"zone": "quarantine"})
    assert answer.status_code == 201, answer.json
    assert api.get(f"/api/locations/{code}").json["pickable"] is False
    return code


def move_one(api: ApiClient, sku: str, source: str, target: str) -> Any:
    return api.post("/api/stock/moves", {"sku": sku, "from": source, "to": target, "qty": 1})


def test_pickers_move_stock_only_between_pick_bins(api: ApiClient) -> None:
    sku, first, second = stocked_product(api, 0), make_location(api), make_location(api)
    quarantine = quarantine_place(api)
    api.post("/api/stock/receipts", {"sku": sku, "location": first, "qty": 4})
    picker = api.as_role("picker")
    into = move_one(picker, sku, first, quarantine)
    assert into.status_code == 403 and into.json["error"] == {
        "code": "not_a_pick_bin",
        "message": f"{quarantine} is not a pick bin: only a receiver or a supervisor moves "
        "stock there or from there.",
        "field": "to",
    }
    assert move_one(picker, sku, first, second).status_code == 201
    # A receiver puts units into quarantine, and a picker may not take them out.
    assert move_one(api.as_role("receiver"), sku, first, quarantine).status_code == 201
    out = move_one(picker, sku, quarantine, second)
    assert out.status_code == 403 and out.json["error"]["field"] == "from"
    places = {row["location"]: row["on_hand"] for row in stock_of(api, sku)["locations"]}
    assert places == {first: 2, second: 1, quarantine: 1}
