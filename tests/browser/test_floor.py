"""Receiving, counting and looking up by scans typed at scanner speed, in Chromium at 360x640."""

from __future__ import annotations

import io
import re

import barcode
from barcode.writer import ImageWriter
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select

from scanners.gtin import with_check_digit
from tests.browser.conftest import (
    answered,
    expect_refused,
    expect_sound,
    message,
    scan,
    scan_and_wait,
    sign_in,
)
from warehouse.models import ScanLog

SKU_1_EAN = with_check_digit("061414100001")  # the demo's SKU-0001
SKU_2_EAN = with_check_digit("061414100002")


def sign_in_receiver(page: Page, live_server: str) -> None:
    sign_in(page, live_server, "U000003", "3333", "receiver")


def on_hand_at(page: Page, live_server: str, code: str) -> dict[str, int]:
    """What the lookup page shows a bin holds, by SKU."""
    page.goto(live_server + "/lookup")
    # The page opens on the person's last lookup, which may be this bin: wait for the answer.
    scan_and_wait(page, code)
    expect(page.get_by_test_id("what")).to_have_text(code)
    rows = page.locator("[data-panel] table tr").all_inner_texts()[1:]
    found: dict[str, int] = {}
    for row in rows:
        match = re.match(r"(SKU-\d+)\b.*\s(\d+)$", row.strip(), re.S)
        if match:
            found[match[1]] = found.get(match[1], 0) + int(match[2])
    return found


def test_receive_by_scans_with_sounds(page: Page, live_server: str) -> None:
    sign_in_receiver(page, live_server)
    before = on_hand_at(page, live_server, "DOCK-01")
    page.goto(live_server + "/receive")
    scan_and_wait(page, "DOCK-01")
    expect(page.get_by_test_id("location")).to_have_text("DOCK-01")
    expect_sound(page, "good")
    # A code with a bad check digit: refused with the bad sound, the step stays.
    scan_and_wait(page, "0614141000013")
    expect_refused(page, "check digit is wrong")
    expect(page.get_by_test_id("location")).to_have_text("DOCK-01")
    scan_and_wait(page, SKU_1_EAN)
    expect(page.get_by_test_id("item")).to_contain_text("SKU-0001")
    expect_sound(page, "good")
    # Units typed and sent with Enter; the Receive button books them.
    with answered(page):
        page.get_by_label("Units").fill("5")
        page.get_by_label("Units").press("Enter")
    expect(message(page)).to_contain_text("SKU-0001: 5.")
    with answered(page):
        page.get_by_role("button", name="Receive").click()
    expect(message(page)).to_have_text("Received 5 of SKU-0001 at DOCK-01. Scan the next item.")
    # A GS1-128 with lot, expiry and count; the scanner sends GS as Ctrl+]. The focus is in
    # a text box: the burst is a scan all the same, and nothing of it is typed there.
    typed_box = page.get_by_label("No scanner? Type the code")
    typed_box.focus()
    with answered(page):
        page.keyboard.type(f"]C101{'0' + SKU_2_EAN}1728013110LOT9")
        page.keyboard.press("Control+BracketRight")
        page.keyboard.type("3012")
        page.keyboard.press("Enter")
    expect(typed_box).to_have_value("")
    expect(page.get_by_test_id("item")).to_contain_text("SKU-0002")
    expect(page.get_by_label("Units")).to_have_value("12")
    expect(page.get_by_label("Lot")).to_have_value("LOT9")
    expect(page.get_by_label("Expiry")).to_have_value("2028-01-31")
    with answered(page):
        page.get_by_role("button", name="Receive").click()
    expect(message(page)).to_have_text(
        "Received 12 of SKU-0002 (lot LOT9) at DOCK-01. Scan the next item."
    )
    expect_sound(page, "good")
    after = on_hand_at(page, live_server, "DOCK-01")
    assert after.get("SKU-0001", 0) == before.get("SKU-0001", 0) + 5
    assert after.get("SKU-0002", 0) == before.get("SKU-0002", 0) + 12


def test_count_by_scans(page: Page, live_server: str) -> None:
    sign_in_receiver(page, live_server)
    page.goto(live_server + "/count")
    scan_and_wait(page, "QUAR-01")
    expect(page.get_by_test_id("location")).to_have_text("QUAR-01")
    expect_sound(page, "good")
    # Three scans close together: each waits its turn, none is lost or counted twice.
    with answered(page, 3):
        for _ in range(3):
            scan(page, SKU_2_EAN)
    expect(message(page)).to_have_text("SKU-0002: 3.")
    expect_sound(page, "good")
    scan_and_wait(page, "no-such-code")
    expect_refused(page, "no-such-code")
    expect(page.get_by_label("Counted SKU-0002")).to_have_value("3")
    with answered(page):
        page.get_by_test_id("finish").click()
    expect(message(page)).to_contain_text("Counted QUAR-01: SKU-0002 +3")
    expect_sound(page, "good")
    assert on_hand_at(page, live_server, "QUAR-01") == {"SKU-0002": 3}


def test_the_camera_button_sends_a_photo_when_there_is_no_detector(
    page: Page, live_server: str
) -> None:
    sign_in_receiver(page, live_server)
    page.goto(live_server + "/lookup")
    image = io.BytesIO()
    barcode.get("ean13", SKU_1_EAN, writer=ImageWriter()).write(image)
    camera = page.get_by_role("button", name="Scan with the camera")
    expect(camera).to_be_visible()
    # Headless Chromium on Linux has no BarcodeDetector: the button takes a photo instead.
    with answered(page):
        with page.expect_file_chooser() as chooser:
            camera.click()
        chooser.value.set_files(
            files=[{"name": "photo.png", "mimeType": "image/png", "buffer": image.getvalue()}]
        )
    expect(page.get_by_test_id("what")).to_have_text("SKU-0001")
    expect_sound(page, "good")


def test_the_log_tells_a_scanner_burst_from_typing(
    page: Page, live_server: str, live_database: str
) -> None:
    sign_in_receiver(page, live_server)
    page.goto(live_server + "/lookup")
    scan_and_wait(page, "A01-01-1")  # keys a few ms apart
    expect(page.get_by_test_id("what")).to_have_text("A01-01-1")
    # A person typing, with the focus nowhere: the keys go to the typed-code box.
    with answered(page):
        page.keyboard.type("A01-02-1", delay=120)
        expect(page.get_by_label("No scanner? Type the code")).to_have_value("A01-02-1")
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("what")).to_have_text("A01-02-1")
    engine = create_engine(live_database)
    with engine.connect() as connection:
        rows = connection.execute(
            select(ScanLog.raw, ScanLog.entry, ScanLog.source)
            .where(ScanLog.raw.in_(["A01-01-1", "A01-02-1"]), ScanLog.source == "lookup")
            .order_by(ScanLog.id.desc())
            .limit(2)
        ).all()
    engine.dispose()
    assert sorted(rows) == [("A01-01-1", "scanner", "lookup"), ("A01-02-1", "keyboard", "lookup")]
