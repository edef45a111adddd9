"""The scanner set-up page in Chromium at 360x640: a damaged scanner's scans, then the advice."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from scanners.diagnose import SETUP_CODES
from tests.browser.conftest import scan

SHOTS = Path(__file__).resolve().parents[2] / "test-results"
# A scanner set to US English on a German handheld, sending "]" in place of GS.
QWERTZ = str.maketrans("yzYZ-_/", "zyZYß?-")


def test_scanner_setup_finds_qwertz_and_the_gs_standin(page: Page, live_server: str) -> None:
    page.goto(live_server + "/login?next=/scanner-setup")
    scan(page, "U000004")  # the demo picker's badge
    expect(page.get_by_label("PIN for badge U000004")).to_be_focused()
    scan(page, "4444")
    expect(page).to_have_url(live_server + "/scanner-setup")
    capture = page.locator("#capture")
    expect(capture).to_be_focused()
    for number, code in enumerate(SETUP_CODES, start=1):
        expect(page.get_by_test_id("prompt")).to_contain_text(f"Scan code {number} of")
        scan(page, code.content.translate(QWERTZ).replace("\x1d", "]"))
        expect(page.get_by_test_id("progress")).to_contain_text(f"Code {number}:")
    findings = page.get_by_test_id("findings")
    expect(findings.locator("[data-topic=layout].fix")).to_contain_text("German (QWERTZ)")
    expect(findings.locator("[data-topic=gs].fix")).to_contain_text('"]"')
    expect(page.get_by_test_id("settings")).to_contain_text('gs_standin = "]"')
    expect(page.get_by_test_id("settings")).to_contain_text("Set the keyboard country to German")
    expect(capture).to_have_value("")  # every key was taken, none typed into the field
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, "the set-up page scrolls sideways on a handheld"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "scanner-setup-360x640.png"), full_page=True)


def test_scanner_setup_records_ctrl_bracket_as_gs(page: Page, live_server: str) -> None:
    page.goto(live_server + "/login?next=/scanner-setup")
    scan(page, "U000005")  # the demo packer's badge
    expect(page.get_by_label("PIN for badge U000005")).to_be_focused()
    scan(page, "5555")
    expect(page.locator("#capture")).to_be_focused()
    for number, code in enumerate(SETUP_CODES, start=1):
        expect(page.get_by_test_id("prompt")).to_contain_text(f"Scan code {number} of")
        if code.name == "gs1-datamatrix":
            page.get_by_role("button", name="Does not scan").click()
        else:
            # Most wedge scanners type GS as Ctrl+]; the page must record ASCII 29.
            *parts, last = code.content.split("\x1d")
            for part in parts:
                page.keyboard.type(part)
                page.keyboard.press("Control+BracketRight")
            scan(page, last)
        expect(page.get_by_test_id("progress")).to_contain_text(f"Code {number}:")
    findings = page.get_by_test_id("findings")
    expect(findings.locator("[data-topic=gs].ok")).to_contain_text("ASCII 29")
    expect(findings.locator("[data-topic=codes].fix")).to_contain_text("GS1 DataMatrix")
    expect(page.get_by_test_id("readings")).to_contain_text("ABC123<GS>17271231")
    expect(page.get_by_test_id("settings")).to_contain_text('gs_standin = ""')
