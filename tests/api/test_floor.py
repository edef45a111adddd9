"""The handheld floor pages by form posts: receive, count and look up by scan."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from scanners.gtin import with_check_digit
from tests.conftest import (
    PASSWORD,
    ApiClient,
    Person,
    make_location,
    make_product,
    random_gtin13,
    receive,
    stock_of,
)
from warehouse.models import ScanLog

GS = "\x1d"


class Handheld:
    """A signed-in person posting the floor forms as the handheld pages do."""

    def __init__(self, client: FlaskClient, person: Person):
        self.client = client
        page = client.get("/login")
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)[1]  # type: ignore[index]
        done = client.post(
            "/login",
            data={"csrf_token": self.csrf, "code": person.name, "password": PASSWORD},
        )
        assert done.status_code == 302, done.text
        # Signing in starts a new session, with a new CSRF token.
        page = client.get("/")
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)[1]  # type: ignore[index]

    def post(self, path: str, **form: Any) -> TestResponse:
        form.setdefault("scan_id", secrets.token_hex(16))
        return self.client.post(path, data={"csrf_token": self.csrf, **form})


def outcome_of(page: TestResponse) -> str | None:
    found = re.search(r'data-outcome="(\w+)"', page.text)
    return found[1] if found else None


@pytest.fixture
def receiver(client: FlaskClient, staff: dict[str, Person]) -> Handheld:
    return Handheld(client, staff["receiver"])


@pytest.fixture
def item(api: ApiClient) -> dict[str, Any]:
    unit = random_gtin13()
    case = with_check_digit("1" + unit[:12])
    product = make_product(api, barcodes=[unit], cases=[{"code": case, "units": 6}])
    return {"sku": product["sku"], "unit": unit, "case": case}


def test_receive_by_scans(receiver: Handheld, api: ApiClient, item: dict[str, Any]) -> None:
    bin_ = make_location(api)
    page = receiver.post("/receive", code=bin_)
    assert page.status_code == 200 and outcome_of(page) == "good" and "Scan an item" in page.text
    page = receiver.post("/receive", code=item["case"], location=bin_)
    assert 'name="qty"' in page.text and 'value="6"' in page.text
    done = receiver.post(
        "/receive", action="confirm", location=bin_, sku=item["sku"], qty="6", code=item["case"]
    )
    assert done.status_code == 200 and outcome_of(done) == "good"
    assert f"Received 6 of {item['sku']}" in done.text
    assert stock_of(api, item["sku"])["on_hand"] == 6


def test_receive_a_gs1_code_brings_lot_expiry_and_count(
    receiver: Handheld, api: ApiClient, item: dict[str, Any]
) -> None:
    bin_ = make_location(api)
    code = f"]C101{'0' + item['unit']}1728013110B-77{GS}3012"
    page = receiver.post("/receive", code=code, location=bin_)
    assert page.status_code == 200, page.text
    assert 'value="12"' in page.text and 'value="B-77"' in page.text
    assert 'value="2028-01-31"' in page.text
    receiver.post(
        "/receive", action="confirm", location=bin_, sku=item["sku"], qty="12",
        lot="B-77", expiry="2028-01-31", code=code,
    )  # fmt: skip
    moves = api.get(f"/api/stock/{item['sku']}/movements").json
    assert [(m["qty"], m["lot"], m["expiry"]) for m in moves] == [(12, "B-77", "2028-01-31")]


def test_a_resubmitted_confirmation_is_booked_once(
    receiver: Handheld, api: ApiClient, item: dict[str, Any], db: Session
) -> None:
    bin_ = make_location(api)
    scan_id = secrets.token_hex(16)
    form = {
        "action": "confirm",
        "location": bin_,
        "sku": item["sku"],
        "qty": "4",
        "scan_id": scan_id,
    }
    first, again = receiver.post("/receive", **form), receiver.post("/receive", **form)
    assert first.status_code == again.status_code == 200
    assert stock_of(api, item["sku"])["on_hand"] == 4
    db.rollback()
    assert len(list(db.scalars(select(ScanLog).where(ScanLog.scan_id == scan_id)))) == 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"code": "4006381333932"}, "check digit is wrong"),
        ({"code": "(17)251399"}, "is not a date written YYMMDD"),
        ({"code": "nothing-here", "location": "{bin}"}, "not a product"),
        ({"code": "{sku}"}, "Scan the location first"),
        (
            {"action": "confirm", "location": "{bin}", "sku": "{sku}", "qty": "0"},
            "qty must be 1 or more",
        ),
        (
            {"action": "confirm", "location": "{bin}", "sku": "{sku}", "qty": "6141410000981"},
            "looks like a scanned barcode",
        ),
        (
            {"action": "confirm", "location": "{bin}", "sku": "{sku}", "qty": "10001"},
            "10000 at most",
        ),
        (
            {"action": "confirm", "location": "{bin}", "sku": "{sku}", "qty": "-3"},
            "qty must be 1 or more",
        ),
        ({"action": "confirm", "location": "{bin}", "sku": "{sku}", "qty": "x"}, "whole number"),
        ({"action": "confirm", "location": "{bin}", "sku": "NO-SUCH", "qty": "1"}, "No product"),
        (
            {
                "action": "confirm",
                "location": "{bin}",
                "sku": "{sku}",
                "qty": "1",
                "expiry": "2027-02-30",
            },
            "not a date",
        ),
    ],
)
def test_receive_refusals_change_nothing(
    receiver: Handheld, api: ApiClient, item: dict[str, Any], form: dict[str, str], message: str
) -> None:
    bin_ = make_location(api)
    filled = {key: value.format(bin=bin_, sku=item["sku"]) for key, value in form.items()}
    page = receiver.post("/receive", **filled)
    assert page.status_code == 422 and outcome_of(page) == "bad"
    assert message in page.text
    assert stock_of(api, item["sku"])["on_hand"] == 0


def test_count_by_scans_books_the_differences(
    client: FlaskClient, staff: dict[str, Person], api: ApiClient, item: dict[str, Any]
) -> None:
    counter = Handheld(client, staff["receiver"])
    bin_ = make_location(api)
    other = make_product(api)
    receive(api, item["sku"], bin_, 10)
    receive(api, other["sku"], bin_, 3)
    page = counter.post("/count", code=bin_)
    assert outcome_of(page) == "good" and item["sku"] in page.text and other["sku"] in page.text
    # Books figures are not shown: a blind count.
    assert ">10<" not in page.text
    state = {"location": bin_, "sku": [item["sku"], other["sku"]], "lot": ["", ""],
             "name": ["", ""], "counted": ["", ""]}  # fmt: skip
    page = counter.post("/count", code=item["case"], **state)
    assert outcome_of(page) == "good" and f"{item['sku']}: 6" in page.text
    state["counted"] = ["6", ""]
    page = counter.post("/count", code=item["unit"], **state)
    assert f"{item['sku']}: 7" in page.text
    wrong = counter.post("/count", code="4006381333932", **{**state, "counted": ["7", ""]})
    assert wrong.status_code == 422 and outcome_of(wrong) == "bad"
    # The other product left blank is not taken for none: it is refused, nothing booked.
    blank = counter.post("/count", action="finish", **{**state, "counted": ["7", ""]})
    assert blank.status_code == 422 and outcome_of(blank) == "bad"
    assert f"{other['sku']} is not counted: count it, or say none is here" in blank.text
    assert stock_of(api, other["sku"])["on_hand"] == 3
    # None here, said as such: 0.
    done = counter.post("/count", action="finish", **{**state, "counted": ["7", "0"]})
    assert done.status_code == 200 and outcome_of(done) == "good"
    assert f"{item['sku']} -3" in done.text and f"{other['sku']} -3" in done.text
    assert stock_of(api, item["sku"])["on_hand"] == 7
    assert stock_of(api, other["sku"])["on_hand"] == 0


def test_count_refuses_bad_counts(receiver: Handheld, api: ApiClient, item: dict[str, Any]) -> None:
    bin_ = make_location(api)
    receive(api, item["sku"], bin_, 5)
    for bad in ("-3", "x", "1.5"):
        page = receiver.post(
            "/count", action="finish", location=bin_, sku=item["sku"], lot="", name="", counted=bad
        )
        assert page.status_code == 422 and outcome_of(page) == "bad", bad
    assert stock_of(api, item["sku"])["on_hand"] == 5


@pytest.mark.parametrize("kind", ["product", "location", "user", "unknown"])
def test_lookup_says_what_a_scan_is(
    receiver: Handheld, api: ApiClient, item: dict[str, Any], staff: dict[str, Person], kind: str
) -> None:
    bin_ = make_location(api)
    receive(api, item["sku"], bin_, 2)
    code = {"product": item["unit"], "location": bin_, "user": staff["picker"].badge,
            "unknown": "NOTHING-" + secrets.token_hex(3)}[kind]  # fmt: skip
    page = receiver.post("/lookup", code=code)
    if kind == "unknown":
        assert page.status_code == 404 and outcome_of(page) == "bad"
        return
    assert page.status_code == 200 and outcome_of(page) == "good"
    expected = {"product": item["sku"], "location": item["sku"], "user": staff["picker"].name}
    assert expected[kind] in page.text
