"""Signing in on a handheld by scanning a badge and typing the PIN, in Chromium at 360x640."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import scan, sign_in
from tests.conftest import ref, warehouse_command

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def test_badge_scan_and_pin_reach_the_home_page(page: Page, live_server: str) -> None:
    page.goto(live_server + "/")
    expect(page).to_have_url(f"{live_server}/login?next=/")
    expect(page.get_by_label("Scan your badge, or type your user name")).to_be_focused()
    scan(page, "U000004")  # the demo picker's badge
    expect(page.get_by_label("PIN for badge U000004")).to_be_focused()
    scan(page, "4444")
    expect(page).to_have_url(live_server + "/")
    expect(page.get_by_test_id("who")).to_have_text("pete · picker")
    expect(page.get_by_test_id("tasks")).to_contain_text("Look up")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, "the home page scrolls sideways on a handheld"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "home-360x640.png"))


def test_a_wrong_pin_is_refused(page: Page, live_server: str) -> None:
    page.goto(live_server + "/login")
    scan(page, "U000005")
    expect(page.get_by_label("PIN for badge U000005")).to_be_focused()
    scan(page, "0000")
    expect(page.locator("[data-signin-error]")).to_contain_text("Wrong PIN")
    expect(page.locator("body")).to_have_attribute("data-played", "bad")
    # Still the same badge: the PIN is typed again, and nobody is signed in.
    expect(page.get_by_label("PIN for badge U000005")).to_be_focused()
    expect(page.get_by_label("PIN for badge U000005")).to_have_value("")
    expect(page).to_have_url(live_server + "/login")
    expect(page.get_by_test_id("who")).to_have_count(0)


def test_a_scan_on_the_home_page_is_looked_up_wherever_the_focus_is(
    page: Page, live_server: str
) -> None:
    page.goto(live_server + "/login")
    scan(page, "U000003")
    expect(page.get_by_label("PIN for badge U000003")).to_be_focused()
    scan(page, "3333")
    expect(page.get_by_test_id("who")).to_contain_text("receiver")
    # A tap on the page outside any control leaves the focus nowhere: the page still takes
    # the scanner's burst, and the look-up page opens with it.
    page.get_by_role("heading", name="Tasks").click()
    scan(page, "0614141000012")  # the demo's first EAN-13
    expect(page).to_have_url(live_server + "/lookup")
    expect(page.get_by_test_id("what")).to_have_text("SKU-0001")
    expect(page.locator("[data-panel]")).to_contain_text("On hand")
    expect(page.locator("[data-flow]")).to_have_attribute("data-waiting", "0")


def test_a_supervisor_deactivates_a_person_with_two_taps(
    page: Page, live_server: str, live_database: str
) -> None:
    name = ref("leaver").lower()
    warehouse_command(live_database, "user", "add", name, "--role", "picker")
    sign_in(page, live_server, "U000002", "2222", "supervisor")
    page.goto(live_server + "/people")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "/people scrolls sideways"
    row = page.locator(f"tr[data-person='{name}']")
    # One tap only opens the step; the second does it.
    expect(row.get_by_role("button", name=f"Deactivate {name} now")).to_be_hidden()
    row.get_by_text("Deactivate…").click()
    row.get_by_role("button", name=f"Deactivate {name} now").click()
    expect(page.locator(f"tr[data-person='{name}']")).to_contain_text("no longer signs in")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "people-360x640.png"), full_page=True)
