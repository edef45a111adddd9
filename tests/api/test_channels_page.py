"""The channels page: leads see every channel's settings, admins change them with a form
per channel, and a form with mistakes saves nothing and says what is wrong next to each
field."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

from tests.api.test_channel_settings import SETTINGS
from tests.conftest import ApiClient, Floor, make_channel

FORM = {
    "name": "Own web shop",
    "priority": "5",
    "buffer": "3",
    "share": "0.8",
    "ship_partial": "on",
    "handling_hours": "24",
    "fee_percent": "2.9",
    "fee_fixed": "0.30",
    "events_url": "https://shop.example.com/warehouse-events",
}


def section(html: str, code: str) -> str:
    """The part of the page that shows one channel."""
    found = re.search(
        rf'<section class="channel"[^>]*data-channel="{code}">(.*?)</section>', html, re.S
    )
    assert found is not None, f"no section for {code}"
    return found[1]


def shown_values(part: str) -> dict[str, str]:
    """The value of every text field of a channel's form, and its checkbox ("on" or "")."""
    values = {
        name: unescape(value)
        for name, value in re.findall(
            r'<input id="[^"]+" name="([a-z_]+)" type="(?:text|url)" value="([^"]*)"', part
        )
    }
    checked = re.search(r'name="ship_partial" type="checkbox"( checked)?', part)
    assert checked is not None
    return values | {"ship_partial": "on" if checked[1] else ""}


def field_errors(part: str) -> dict[str, str]:
    """What the page says is wrong, by the field it stands next to."""
    return {
        name: unescape(text)
        for name, text in re.findall(r'data-error-for="([a-z_]+)">([^<]*)</p>', part)
    }


def test_an_admin_changes_a_channel_with_its_form(
    api: ApiClient, floor: Callable[[str], Floor]
) -> None:
    code = make_channel(api)
    admin = floor("admin")
    listed = admin.client.get("/channels")
    assert listed.status_code == 200
    assert shown_values(section(listed.text, code)) == {
        "name": f"Channel {code}", "priority": "100", "buffer": "0", "share": "1",
        "ship_partial": "", "handling_hours": "", "fee_percent": "0", "fee_fixed": "0",
        "events_url": "",
    }  # fmt: skip
    assert f"Save {code}" in section(listed.text, code)
    saved = admin.form(f"/channels/{code}", **FORM)
    assert saved.status_code == 200, saved.text
    assert f"Saved the settings of {FORM['name']}." in saved.text
    assert field_errors(saved.text) == {}
    assert api.get(f"/api/channels/{code}").json == {
        "code": code, "name": "Own web shop", "priority": 5, "buffer": 3, "share": 0.8,
        "ship_partial": True, "handling_hours": 24, "fee_percent": 2.9, "fee_fixed": 0.3,
        "events_url": "https://shop.example.com/warehouse-events",
    }  # fmt: skip
    assert shown_values(section(saved.text, code)) == FORM | {"fee_fixed": "0.3"}

    # Fields left empty take their defaults, as in the API; an unticked box is false.
    emptied = {**FORM, "handling_hours": "", "events_url": "", "fee_percent": "", "buffer": ""}
    del emptied["ship_partial"]
    saved = admin.form(f"/channels/{code}", **emptied)
    assert saved.status_code == 200, saved.text
    assert "Its events not sent yet are kept for it to pull." in saved.text
    after = api.get(f"/api/channels/{code}").json
    assert (after["handling_hours"], after["events_url"], after["fee_percent"]) == (None, None, 0)
    assert (after["buffer"], after["ship_partial"]) == (0, False)


def test_a_form_with_mistakes_saves_nothing_and_says_what_is_wrong_by_each_field(
    api: ApiClient, floor: Callable[[str], Floor]
) -> None:
    code, other = make_channel(api, **SETTINGS), make_channel(api)
    before = api.get(f"/api/channels/{code}").json
    admin = floor("admin")
    wrong = {
        **FORM,
        "name": "",
        "priority": "first",
        "share": "1.5",
        "handling_hours": "9000",
        "fee_percent": "12.345",
        "fee_fixed": "1,50",
        "events_url": "ftp://shop.example.com/events",
    }
    refused = admin.form(f"/channels/{code}", **wrong)
    assert refused.status_code == 422
    assert f"Nothing was saved for {code}" in refused.text
    part = section(refused.text, code)
    errors = field_errors(part)
    assert set(errors) == {
        "name", "priority", "share", "handling_hours", "fee_percent", "fee_fixed", "events_url",
    }  # fmt: skip
    assert "whole number" in errors["priority"]
    assert "at most 1" in errors["share"]
    assert "8760" in errors["handling_hours"]
    assert "2 decimals" in errors["fee_percent"]
    assert "point" in errors["fee_fixed"]
    assert "http" in errors["events_url"]
    # Each message is tied to its field for screen readers, and the field marked.
    assert f'aria-describedby="{code}-priority-error"' in part
    assert part.count('aria-invalid="true"') == 7
    # What was typed stays in the form, to be put right; nothing is stored.
    assert shown_values(part) == wrong
    assert api.get(f"/api/channels/{code}").json == before
    # The other channels' forms show what is stored, with no errors.
    assert field_errors(section(refused.text, other)) == {}

    # One mistake among good values: only it is named, still nothing saved.
    loop = admin.form(f"/channels/{code}", **{**FORM, "events_url": "http://localhost/x"})
    assert loop.status_code == 422
    assert list(field_errors(section(loop.text, code))) == ["events_url"]
    assert "this warehouse service itself" in field_errors(section(loop.text, code))["events_url"]
    assert api.get(f"/api/channels/{code}").json == before


def test_supervisors_see_the_settings_and_only_admins_change_them(
    api: ApiClient, floor: Callable[[str], Floor]
) -> None:
    code = make_channel(api, **SETTINGS)
    before = api.get(f"/api/channels/{code}").json
    lead = floor("supervisor")
    page = lead.client.get("/channels")
    assert page.status_code == 200
    part = section(page.text, code)
    assert shown_values(part)["events_url"] == SETTINGS["events_url"]
    assert "<fieldset disabled>" in part and f"Save {code}" not in part
    assert "Admins change these settings" in page.text
    assert lead.form(f"/channels/{code}", **FORM).status_code == 403
    assert api.get(f"/api/channels/{code}").json == before
    for role in ("receiver", "picker", "packer"):
        assert floor(role).client.get("/channels").status_code == 403
    # Leads find the page on their home page.
    assert 'href="/channels"' in floor("admin").client.get("/").text
    assert 'href="/channels"' in lead.client.get("/").text
    assert 'href="/channels"' not in floor("picker").client.get("/").text


def test_a_form_without_its_csrf_token_or_for_no_channel_changes_nothing(
    api: ApiClient, floor: Callable[[str], Floor]
) -> None:
    code = make_channel(api)
    before = api.get(f"/api/channels/{code}").json
    admin = floor("admin")
    forged = admin.client.post(f"/channels/{code}", data=FORM)
    assert forged.status_code == 400
    assert api.get(f"/api/channels/{code}").json == before
    nowhere = admin.form("/channels/no-such-channel", **FORM)
    assert nowhere.status_code == 404
    assert api.get("/api/channels/no-such-channel").status_code == 404
