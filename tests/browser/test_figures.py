"""The figures page in Chromium: a supervisor chooses a period and reads each channel's
figures beside the period before, on a handheld at 360x640 as on a desk."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import sign_in

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def test_a_supervisor_reads_which_channels_pay_on_a_handheld_and_a_desk(
    page: Page, browser: Browser, live_server: str
) -> None:
    sign_in(page, live_server, "U000002", "2222", "supervisor")
    page.get_by_role("link", name=re.compile(r"^Figures")).click()
    expect(page).to_have_url(live_server + "/figures")
    cards = page.locator("[data-testid=channels] > li[data-channel]")
    expect(cards.first).to_be_visible()
    page.get_by_role("link", name="This year").click()
    expect(page).to_have_url(re.compile(r"period=year"))
    expect(page.get_by_test_id("shown")).to_contain_text("01 Jan")
    page.get_by_label("From").fill("2026-02-01")
    page.get_by_label("To").fill("2026-02-28")
    page.get_by_role("button", name="Show these days").click()
    expect(page.get_by_test_id("shown")).to_contain_text("01 Feb 2026 to 28 Feb 2026")
    assert cards.count() >= 2
    page.get_by_role("link", name="This year").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "it scrolls sideways"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "figures-360x640.png"), full_page=True)

    desk = browser.new_context(
        viewport={"width": 1280, "height": 800}, storage_state=page.context.storage_state()
    )
    try:
        wide = desk.new_page()
        wide.goto(page.url)
        expect(wide.locator("[data-testid=channels] > li[data-channel]").first).to_be_visible()
        wide.screenshot(path=str(SHOTS / "figures-1280x800.png"), full_page=True)
    finally:
        desk.close()
