"""The channels page in Chromium at 360x640: an admin puts a mistake right and saves a
channel's settings, on a handheld as on a desk."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.conftest import ref, warehouse_command

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def test_an_admin_edits_a_channel_and_a_mistake_is_said_by_its_field(
    page: Page, live_server: str, live_database: str
) -> None:
    token = warehouse_command(live_database, "token", "create", "ada").strip().split()[-1]
    api = httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {token}"})
    code = ref("ch").lower()
    assert api.put(f"/api/channels/{code}", json={"name": "Pop-up shop"}).status_code == 201

    sign_in(page, live_server, "U000001", "1111", "admin")
    page.get_by_role("link", name=re.compile(r"^Channels")).click()
    expect(page).to_have_url(live_server + "/channels")
    card = page.locator(f"section[data-channel='{code}']")
    card.get_by_label("Handling hours").fill("36")
    card.get_by_label("Fee %").fill("2.955")
    card.get_by_label("Fixed fee").fill("0.35")
    card.get_by_label("Ships partly").check()
    card.get_by_label("Events URL").fill("https://popup.example.com/events")
    card.get_by_role("button", name=f"Save {code}").click()

    # Refused: the page says so, by the field, and keeps what was typed; nothing is saved.
    card = page.locator(f"section[data-channel='{code}']")
    expect(page.get_by_role("alert")).to_contain_text(f"Nothing was saved for {code}")
    expect(card.locator("[data-error-for=fee_percent]")).to_contain_text("at most 2 decimals")
    expect(card.locator("[data-error-for=fee_percent]")).to_be_in_viewport()
    expect(card.get_by_label("Fee %")).to_have_attribute("aria-invalid", "true")
    expect(card.get_by_label("Handling hours")).to_have_value("36")
    assert api.get(f"/api/channels/{code}").json()["fee_percent"] == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "it scrolls sideways"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "channels-refused-360x640.png"))

    card.get_by_label("Fee %").fill("2.95")
    card.get_by_role("button", name=f"Save {code}").click()
    card = page.locator(f"section[data-channel='{code}']")
    expect(card.get_by_role("status")).to_contain_text("Saved the settings of Pop-up shop.")
    expect(card.locator(".field-error")).to_have_count(0)
    expect(card.get_by_label("Fee %")).to_have_value("2.95")
    assert api.get(f"/api/channels/{code}").json() == {
        "code": code, "name": "Pop-up shop", "priority": 100, "buffer": 0, "share": 1.0,
        "ship_partial": True, "handling_hours": 36, "fee_percent": 2.95, "fee_fixed": 0.35,
        "events_url": "https://popup.example.com/events",
    }  # fmt: skip
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "it scrolls sideways"
    # The answer opens at the card, its outcome in view.
    expect(card.get_by_role("status")).to_be_in_viewport()
    page.screenshot(path=str(SHOTS / "channels-360x640.png"))
    page.screenshot(path=str(SHOTS / "channels-360x640-full.png"), full_page=True)
