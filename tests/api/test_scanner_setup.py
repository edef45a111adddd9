"""The scanner set-up page by the Flask test client: the sheet, its images, the diagnosis."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image
from pyzbar import pyzbar
from werkzeug.test import TestResponse

from scanners.diagnose import SETUP_CODES, SetupCode
from tests.conftest import PASSWORD, Person

# Not collected again by tests/pg: the scanner set-up page keeps nothing in the database.
POSTGRESQL = False

_GS = "\x1d"
_URL = "/scanner-setup/diagnose"


def _csrf_of(page: TestResponse) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _signed_in(client: FlaskClient, person: Person) -> str:
    """Sign the client in by password; returns the CSRF token of the set-up page."""
    done = client.post(
        "/login",
        data={
            "csrf_token": _csrf_of(client.get("/login")),
            "code": person.name,
            "password": PASSWORD,
        },
    )
    assert done.status_code == 302, done.text
    page = client.get("/scanner-setup")
    assert page.status_code == 200
    return _csrf_of(page)


def _captures(typed: dict[str, str]) -> dict[str, Any]:
    return {
        "captures": [
            {"code": name, "text": text, "end_key": "Enter", "gaps_ms": [4, 5, 4]}
            for name, text in typed.items()
        ]
    }


def _post(client: FlaskClient, csrf: str | None, body: Any) -> TestResponse:
    headers = {"X-CSRFToken": csrf} if csrf else {}
    return client.post(_URL, json=body, headers=headers)


def test_scanner_setup_page_shows_every_test_code(
    client: FlaskClient, staff: dict[str, Person]
) -> None:
    _signed_in(client, staff["picker"])
    page = client.get("/scanner-setup")
    assert page.headers["Cache-Control"] == "no-store"
    for code in SETUP_CODES:
        assert f'src="/scanner-setup/codes/{code.name}.png"' in page.text
        assert code.label in page.text
    # The floor's scanner capture must leave this page alone: it reads the raw keys itself.
    assert "floor/early.js" not in page.text and "floor/flow.js" not in page.text
    # Its print layout (the codes at their true size) comes with its own style sheet.
    assert 'href="/static/scanner-setup.css"' in page.text
    assert "@media print" in client.get("/static/scanner-setup.css").text
    assert 'data-width-mm="' in page.text and "style=" not in page.text


def test_scanner_setup_says_how_to_program_the_prefix(
    client: FlaskClient, staff: dict[str, Person], app: Any
) -> None:
    _signed_in(client, staff["picker"])
    steps = client.get("/scanner-setup").text
    assert "No prefix is set" in steps and 'prefix = "~"' in steps
    # ~ is 7E; the suffix Enter is 0D.
    assert "<b>7</b> <b>E</b>" in steps and "<b>0</b> <b>D</b> (Enter)" in steps
    setup = app.extensions["warehouse.config"]
    changed = setup.model_copy(
        update={"scanners": setup.scanners.model_copy(update={"prefix": "#$"})}
    )
    app.extensions["warehouse.config"] = changed
    try:
        steps = client.get("/scanner-setup").text
    finally:
        app.extensions["warehouse.config"] = setup
    assert "send <b><code>#$</code></b> before each scan" in steps
    assert "<b>2</b> <b>3</b>, <b>2</b> <b>4</b>" in steps and 'data-prefix="#$"' in steps


@pytest.mark.parametrize("code", SETUP_CODES, ids=lambda code: code.name)
def test_scanner_setup_images_decode_to_exactly_the_content(
    client: FlaskClient, staff: dict[str, Person], code: SetupCode
) -> None:
    _signed_in(client, staff["packer"])
    response = client.get(f"/scanner-setup/codes/{code.name}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    read = zxingcpp.read_barcode(image, text_mode=zxingcpp.TextMode.Plain)
    assert read is not None
    assert (read.symbology_identifier, read.text) == (code.aim, code.content)
    if "DataMatrix" not in code.symbology:  # zbar reads the linear codes too: a second opinion
        assert [found.data.decode() for found in pyzbar.decode(image)] == [code.content]


def test_scanner_setup_unknown_image_is_not_found(
    client: FlaskClient, staff: dict[str, Person]
) -> None:
    _signed_in(client, staff["picker"])
    assert client.get("/scanner-setup/codes/nope.png").status_code == 404


def test_scanner_setup_diagnoses_a_good_scanner(
    client: FlaskClient, staff: dict[str, Person]
) -> None:
    csrf = _signed_in(client, staff["receiver"])
    response = _post(client, csrf, _captures({c.name: c.aim + c.content for c in SETUP_CODES}))
    assert response.status_code == 200, response.json
    body = response.json
    assert body and {f["severity"] for f in body["findings"]} == {"ok"}
    assert 'gs_standin = ""' in body["settings"]
    assert "Nothing needs changing on the scanner." in body["settings"]
    assert all(reading["as_printed"] is False for reading in body["readings"])  # AIM in front


def test_scanner_setup_diagnoses_a_qwertz_scanner_with_a_standin(
    client: FlaskClient, staff: dict[str, Person]
) -> None:
    csrf = _signed_in(client, staff["picker"])
    qwertz = str.maketrans("yzYZ-_/", "zyZYß?-")
    typed = {c.name: c.content.translate(qwertz).replace(_GS, "]") for c in SETUP_CODES}
    response = _post(client, csrf, _captures(typed))
    assert response.status_code == 200, response.json
    body = response.json
    assert body
    layout = next(f for f in body["findings"] if f["topic"] == "layout")
    assert layout["severity"] == "fix" and "QWERTZ" in layout["message"]
    assert 'gs_standin = "]"' in body["settings"]
    assert "Set the keyboard country to German (QWERTZ)." in body["settings"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"captures": []}, "captures"),
        ({"captures": [{"code": "nope", "text": "x"}]}, "captures[0].code"),
        ({"captures": [{"code": "ean13", "text": 42}]}, "captures[0].text"),
        ({"captures": [{"code": "ean13", "text": "x", "gaps_ms": ["4"]}]}, "captures[0].gaps_ms"),
    ],
)
def test_scanner_setup_refuses_what_is_not_captures(
    client: FlaskClient, staff: dict[str, Person], body: dict[str, Any], field: str
) -> None:
    csrf = _signed_in(client, staff["picker"])
    response = _post(client, csrf, body)
    assert response.status_code == 422
    assert response.json and response.json["error"]["code"] == "invalid_input"
    assert response.json["error"]["field"] == field


def test_scanner_setup_refuses_malformed_json(
    client: FlaskClient, staff: dict[str, Person]
) -> None:
    csrf = _signed_in(client, staff["picker"])
    response = client.post(
        _URL, data="{not json", content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert response.status_code == 422
    error = response.json and response.json["error"]
    assert error and error["code"] == "invalid_input" and error["message"]


def test_scanner_setup_needs_the_csrf_header(client: FlaskClient, staff: dict[str, Person]) -> None:
    _signed_in(client, staff["picker"])
    response = _post(client, None, _captures({"ean13": "9506000134352"}))
    assert response.status_code == 400


def test_scanner_setup_sends_strangers_to_the_login(client: FlaskClient) -> None:
    for path in ("/scanner-setup", "/scanner-setup/codes/ean13.png"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith(f"/login?next={path}")
    # With a valid CSRF token but nobody signed in, the diagnosis is refused as well.
    csrf = _csrf_of(client.get("/login"))
    response = _post(client, csrf, _captures({"ean13": "9506000134352"}))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_scanner_setup_is_for_people_not_integrations(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = _captures({"ean13": "9506000134352"})
    as_bot = client.post(
        _URL, json=body, headers={"Authorization": f"Bearer {tokens['integration']}"}
    )
    assert as_bot.status_code == 403
    as_picker = client.post(
        _URL, json=body, headers={"Authorization": f"Bearer {tokens['picker']}"}
    )
    assert as_picker.status_code == 200
