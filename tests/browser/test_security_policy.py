"""The pages under their Content-Security-Policy in Chromium: nothing a page does (its
scripts, styles, images, panels redrawn by script) is blocked by the policy."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import answered, open_flow, scan, sign_in

# Every violation the browser reports, also one blocked before any script of the page runs.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || location.pathname}:${event.lineNumber}`);
});
"""


def test_the_main_pages_break_no_rule_of_their_security_policy(
    page: Page, live_server: str
) -> None:
    console: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            console.append(message.text)

    page.on("console", heard)
    page.add_init_script(RECORD_VIOLATIONS)
    violations: list[str] = []

    def visit(path: str) -> None:
        response = page.goto(live_server + path)
        assert response is not None and response.ok, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        violations.extend(page.evaluate("window.__violations"))

    visit("/login")
    # The supervisor may open every page; the sign-in itself runs the login page's script.
    sign_in(page, live_server, "U000002", "2222", "supervisor")
    violations.extend(page.evaluate("window.__violations"))
    for flow in ("/pick", "/pack", "/count", "/lookup", "/dock", "/returns"):
        visit(flow)
    for desk in (
        "/orders",
        "/plan",
        "/pick/supervise",
        "/counts",
        "/printing",
        "/people",
        "/channels",
        "/figures",
    ):
        visit(desk)
    visit("/scanner-setup")
    # The barcodes of the sheet keep their printed size, set by the page's script.
    width = page.locator(".sheet img").first.evaluate("image => image.style.width")
    assert width.endswith("mm")
    # A panel redrawn by the page's script after a scan, then left as it was.
    open_flow(page, live_server + "/receive")
    with answered(page):
        scan(page, "DOCK-01")
    expect(page.get_by_test_id("location")).to_have_text("DOCK-01")
    violations.extend(page.evaluate("window.__violations"))
    with answered(page):
        page.get_by_role("button", name="Done at this bin").click()
    violations.extend(page.evaluate("window.__violations"))
    visit("/")
    assert violations == []
    assert console == []
