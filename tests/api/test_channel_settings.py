"""A channel's settings over the API: each one stored and shown, each refused outside its
range with nothing changed, an events URL that points at the service itself refused, the
events of a channel whose URL comes and goes kept, and the handling time setting ship-by."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_tokens import integration_name, with_token  # noqa: F401
from tests.conftest import ApiClient, free_port, make_channel, order_body, ref, stocked_product
from warehouse import accounts
from warehouse.db import writing
from warehouse.models import ChannelEvent

SETTINGS = {
    "name": "Marketplace",
    "priority": 7,
    "buffer": 2,
    "share": 0.75,
    "ship_partial": True,
    "handling_hours": 48,
    "fee_percent": 12.5,
    "fee_fixed": 0.3,
    "events_url": "https://hooks.example.com/warehouse/events?shop=42",
}
DEFAULTS = {
    "priority": 100,
    "buffer": 0,
    "share": 1.0,
    "ship_partial": False,
    "handling_hours": None,
    "fee_percent": 0.0,
    "fee_fixed": 0.0,
    "events_url": None,
}


def test_every_setting_is_stored_and_shown_and_a_put_sets_them_all(api: ApiClient) -> None:
    code = ref("ch").lower()
    created = api.put(f"/api/channels/{code}", SETTINGS)
    assert created.status_code == 201, created.json
    assert created.json == {
        "code": code,
        **SETTINGS,
        "webhook_secret": created.json["webhook_secret"],
    }
    shown = api.get(f"/api/channels/{code}")
    assert shown.status_code == 200 and shown.json == {"code": code, **SETTINGS}
    listed = api.get("/api/channels").json["channels"]
    assert {"code": code, **SETTINGS} in listed
    # The list is served first first.
    assert [c["priority"] for c in listed] == sorted(c["priority"] for c in listed)

    # What GET shows (but the code, which is the path's), sent back with one change,
    # changes that one setting only.
    body = {k: v for k, v in shown.json.items() if k != "code"} | {"fee_fixed": 0.35}
    changed = api.put(f"/api/channels/{code}", body)
    assert changed.status_code == 200 and changed.json == {"code": code, **body}
    assert "webhook_secret" not in changed.json

    # PUT: a setting left out takes its default.
    reset = api.put(f"/api/channels/{code}", {"name": "Marketplace"})
    assert reset.status_code == 200
    assert reset.json == {"code": code, "name": "Marketplace", **DEFAULTS}
    assert api.get(f"/api/channels/{code}").json == reset.json
    # An empty events URL clears it too.
    api.put(f"/api/channels/{code}", SETTINGS)
    cleared = api.put(f"/api/channels/{code}", {**SETTINGS, "events_url": ""})
    assert cleared.json["events_url"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("handling_hours", -1),
        ("handling_hours", 8761),
        ("handling_hours", 1.5),
        ("handling_hours", "24"),
        ("fee_percent", -0.01),
        ("fee_percent", 100.01),
        ("fee_percent", 12.345),
        ("fee_percent", "NaN"),
        ("fee_percent", "Infinity"),
        ("fee_percent", 1e30),
        ("fee_fixed", 100000),
        ("fee_fixed", -1),
        ("fee_fixed", 0.001),
        ("fee_fixed", "ten"),
        ("events_url", "ftp://hooks.example.com/events"),
        ("events_url", "javascript:alert(1)"),
        ("events_url", "hooks.example.com/events"),
        ("events_url", "http://"),
        ("events_url", "http:///events"),
        ("events_url", "https://user:secret@hooks.example.com/events"),
        ("events_url", "https://token@hooks.example.com/events"),
        ("events_url", "https://hooks.example.com:0/events"),
        ("events_url", "https://hooks.example.com:99999/events"),
        ("events_url", "https://hooks.example.com:port/events"),
        ("events_url", "https://hooks example.com/events"),
        ("events_url", "https://hooks.example.com/ev\nents"),
        ("events_url", "https://hooks.exa\tmple.com/events"),
        ("events_url", "https://hööks.example.com/events"),
        ("events_url", "https://[::1/events"),
        ("events_url", "https://hooks.example.com/" + "e" * 475),
        ("events_url", 42),
        ("share", 0),
        ("priority", True),
        ("name", ""),
        ("name", "n" * 101),
    ],
)
def test_a_setting_out_of_its_range_is_refused_and_nothing_changes(
    api: ApiClient, field: str, value: Any
) -> None:
    code = make_channel(api, **{**SETTINGS, "name": "Before"})
    before = api.get(f"/api/channels/{code}").json
    refused = api.put(f"/api/channels/{code}", {**SETTINGS, field: value})
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["field"] == field
    assert api.get(f"/api/channels/{code}").json == before
    # Nor is a channel made with it.
    fresh = ref("ch").lower()
    assert api.put(f"/api/channels/{fresh}", {**SETTINGS, field: value}).status_code == 422
    assert api.get(f"/api/channels/{fresh}").status_code == 404


def test_the_highest_settings_are_taken(api: ApiClient) -> None:
    top = {"handling_hours": 8760, "fee_percent": 100, "fee_fixed": 99999.99}
    code = make_channel(api, **top, events_url="http://h/" + "e" * 491)
    assert api.get(f"/api/channels/{code}").json | top == api.get(f"/api/channels/{code}").json
    low = {"handling_hours": 0, "fee_percent": 0.01, "fee_fixed": "12.50", "share": 0.0001}
    answer = api.put(f"/api/channels/{code}", {"name": "Low", **low})
    assert answer.status_code == 200, answer.json
    assert answer.json["fee_fixed"] == 12.5 and answer.json["share"] == 0.0001


@pytest.mark.parametrize(
    "url",
    [
        # The test client's requests come to http://localhost (port 80).
        "http://localhost/api/channels/x/webhook",
        "http://LOCALHOST./events",
        "http://127.0.0.1/events",
        # config.toml's server port (8000) on this machine, in any spelling.
        "http://127.0.0.1:8000/events",
        "https://localhost:8000/events",
        "http://0.0.0.0:8000/",
        "http://[::1]:8000/events",
        "http://[::ffff:127.0.0.1]:8000/events",
        "http://127.1:8000/events",
        "http://2130706433:8000/events",
        "http://127.8.9.10:8000/events",
        "http://shop.localhost:8000/events",
    ],
)
def test_an_events_url_of_the_service_itself_is_refused(api: ApiClient, url: str) -> None:
    code = make_channel(api)
    refused = api.put(f"/api/channels/{code}", {"name": "Loop", "events_url": url})
    assert refused.status_code == 422
    assert refused.json["error"] == {
        "code": "events_url_is_this_service",
        "field": "events_url",
        "message": refused.json["error"]["message"],
    }
    assert "itself" in refused.json["error"]["message"]
    assert api.get(f"/api/channels/{code}").json["events_url"] is None


def test_an_events_url_on_this_machine_elsewhere_is_taken(api: ApiClient) -> None:
    """A receiver on another port of this machine is not the service (tests run them)."""
    for url in (f"http://127.0.0.1:{free_port()}/events", "https://hooks.example.com:8000/"):
        code = make_channel(api, events_url=url)
        assert api.get(f"/api/channels/{code}").json["events_url"] == url


def test_an_events_url_where_a_request_came_is_refused(client: FlaskClient, api: ApiClient) -> None:
    """Behind a proxy the service is reached at the name and port the request names."""
    code = make_channel(api)
    headers = {"Authorization": f"Bearer {api.tokens['admin']}", "Host": "wh.example.com:8443"}
    for url, status in (
        ("https://WH.example.com:8443/events", 422),
        ("https://wh.example.com/events", 200),
    ):
        answer = client.put(
            f"/api/channels/{code}", json={"name": "X", "events_url": url}, headers=headers
        )
        assert answer.status_code == status, answer.json
        if status == 422:
            assert answer.json["error"]["code"] == "events_url_is_this_service"


def test_only_admins_change_channels_and_integrations_see_their_own(
    api: ApiClient,
    client: FlaskClient,
    factory: sessionmaker[Session],
    integration_name: str,  # noqa: F811
) -> None:
    mine, other = make_channel(api, **SETTINGS), make_channel(api)
    before = api.get(f"/api/channels/{mine}").json
    for role in ("supervisor", "receiver", "picker", "packer", "integration"):
        lead = api.as_role(role)
        assert lead.put(f"/api/channels/{mine}", {"name": "Taken"}).status_code == 403
        assert lead.post(f"/api/channels/{mine}/webhook-secret").status_code == 403
    assert api.get(f"/api/channels/{mine}").json == before
    assert api.as_role("supervisor").get(f"/api/channels/{mine}").json == before
    assert api.as_role("picker").get("/api/channels").status_code == 403
    with writing(factory) as session:
        bound = accounts.create_token(session, integration_name, [mine])
    assert with_token(client, bound, "GET", f"/api/channels/{mine}").json == before
    assert with_token(client, bound, "GET", f"/api/channels/{other}").status_code == 404
    listed = with_token(client, bound, "GET", "/api/channels").json["channels"]
    assert listed == [before]
    secret = api.get(f"/api/channels/{mine}").json
    assert "webhook_secret" not in secret and "webhook_secret" not in listed[0]


def order_events(factory: sessionmaker[Session], order: int) -> list[tuple[str, str]]:
    """(type, status) of the events written for an order."""
    with factory() as session:
        return [
            (row.type, row.status)
            for row in session.scalars(
                select(ChannelEvent).where(ChannelEvent.order_id == order).order_by(ChannelEvent.id)
            )
        ]


def test_events_stay_to_be_pulled_or_pushed_as_the_events_url_comes_and_goes(
    api: ApiClient, factory: sessionmaker[Session]
) -> None:
    code, sku = make_channel(api), stocked_product(api, 10)

    def place() -> int:
        placed = api.post(f"/api/channels/{code}/orders", order_body({sku: 1}))
        assert placed.status_code == 201, placed.json
        return int(placed.json["id"])

    before = place()
    assert order_events(factory, before) == [("order.accepted", "pull")]
    # Nothing listens there: an event to push waits to be pushed.
    url = f"http://127.0.0.1:{free_port()}/events"
    assert (
        api.put(f"/api/channels/{code}", {"name": "Pushed", "events_url": url}).status_code == 200
    )
    after = place()
    # Written before the URL, it was never meant to be pushed; written after, it is.
    assert order_events(factory, before) == [("order.accepted", "pull")]
    assert order_events(factory, after) == [("order.accepted", "pending")]

    cleared = api.put(f"/api/channels/{code}", {"name": "Pulled again"})
    assert cleared.status_code == 200 and cleared.json["events_url"] is None
    # Kept, now to be pulled: no event is lost when a channel stops listening.
    assert order_events(factory, before) == [("order.accepted", "pull")]
    assert order_events(factory, after) == [("order.accepted", "pull")]
    assert order_events(factory, place()) == [("order.accepted", "pull")]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_handling_time_sets_ship_by_where_the_order_has_none(api: ApiClient) -> None:
    sku = stocked_product(api, 10)
    timed, untimed = make_channel(api, handling_hours=36), make_channel(api)
    plain = api.post(f"/api/channels/{timed}/orders", order_body({sku: 1})).json
    assert moment(plain["ship_by"]) - moment(plain["created_at"]) == timedelta(hours=36)
    own = "2031-05-06T07:08:09+00:00"
    dated = api.post(f"/api/channels/{timed}/orders", order_body({sku: 1}, ship_by=own)).json
    assert moment(dated["ship_by"]) == moment(own)
    assert api.post(f"/api/channels/{untimed}/orders", order_body({sku: 1})).json["ship_by"] is None
    # Zero hours: it ships the moment it arrives (same-day channels).
    api.put(f"/api/channels/{untimed}", {"name": "Same day", "handling_hours": 0})
    now = api.post(f"/api/channels/{untimed}/orders", order_body({sku: 1})).json
    assert now["ship_by"] == now["created_at"]
    # The same order again is the stored one, whatever the channel's time is now.
    body = order_body({sku: 2})
    first = api.post(f"/api/channels/{timed}/orders", body).json
    api.put(f"/api/channels/{timed}", {"name": "Slower", "handling_hours": 72})
    again = api.post(f"/api/channels/{timed}/orders", body)
    assert again.status_code == 200 and again.json["ship_by"] == first["ship_by"]
