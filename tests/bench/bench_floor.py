"""From the Enter of a scan to the handheld page showing its outcome, in Chromium at 360x640,
against the local service (gunicorn, the demo warehouse on a SQLite file).

    .venv/bin/python -m tests.bench.bench_floor [--units 16] [--runs 1] [--warmup 1]

A picker walks a list of one order of three items (16, 16 and 15 units by default) scanning
the cart's tote, each bin, each unit and the tote; a packer then scans the order and every
unit into a carton: about 100 scans. Each scan is typed as a scanner types it (4 ms a key,
then Enter) once the last one is shown, and timed in the page from its Enter keydown to the
first frame drawn after the page's message names the scan's answer. One pick and pack run
first unmeasured (--warmup): a service worker's first scans of a flow take 80 to 150 ms (its
first statements compiled, its first page drawn), as at the start of a shift; the floor after
that is what is measured. Each run's first scans are printed. The service and the
browser each run on half of the machine's cores, as a server and a handheld are two machines.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.conftest import HANDHELD, Ground, chromium_path, make_ground, sign_in
from tests.conftest import running_service, warehouse_command

# Installed before the page's own scripts: the time of each Enter, and of the frame after
# the message changes to the answer of that scan.
TIMER = """
window.benchTimes = [];
let enterAt = null;
window.addEventListener("keydown", (event) => {
  if (event.key === "Enter") enterAt = performance.now();
}, true);
document.addEventListener("DOMContentLoaded", () => {
  const message = document.querySelector("[data-message]");
  if (!message) return;
  new MutationObserver(() => {
    if (enterAt === null) return;
    const started = enterAt;
    enterAt = null;
    requestAnimationFrame(() => window.benchTimes.push(performance.now() - started));
  }).observe(message, { attributes: true, attributeFilter: ["data-scan-id"] });
});
"""


def timed_scan(page: Page, code: str) -> None:
    """One scan, waited for until its outcome is drawn."""
    before = page.evaluate("window.benchTimes.length")
    page.keyboard.type(code, delay=4)
    page.keyboard.press("Enter")
    page.wait_for_function(f"window.benchTimes.length > {before}")


def pick(page: Page, base: str, ground: Ground) -> list[float]:
    badge, pin, _ = ground.people["picker"]
    sign_in(page, base, badge, pin, "picker")
    page.goto(base + "/pick")
    page.get_by_test_id(f"pick-list-{ground.pick_list}").click()
    expect(page.locator("[data-flow]")).to_have_attribute("data-answered", "1")
    timed_scan(page, f"T{random.randrange(10_000, 100_000)}")
    while page.get_by_test_id("stop").count():
        where = page.get_by_test_id("stop").inner_text()
        take = int(page.get_by_test_id("take").inner_text())
        tote = page.get_by_test_id("tote").inner_text()
        sku = next(sku for sku in ground.ean if sku in page.locator(".item").inner_text())
        for code in (where, *[ground.ean[sku]] * take, tote):
            timed_scan(page, code)
    return list(page.evaluate("window.benchTimes"))


def pack(page: Page, base: str, ground: Ground) -> list[float]:
    page.context.clear_cookies()
    badge, pin, _ = ground.people["packer"]
    sign_in(page, base, badge, pin, "packer")
    page.goto(base + "/pack")
    (order,) = ground.orders.values()
    timed_scan(page, f"O{order:08d}")
    page.get_by_role("button", name=re.compile("^Large box")).click()
    expect(page.get_by_text("Scan each item into carton 1")).to_be_visible()
    for sku in ground.ean:
        left = int(page.locator(f"tr[data-sku='{sku}'] [data-testid=ordered]").inner_text())
        for _ in range(left):
            timed_scan(page, ground.ean[sku])
    return list(page.evaluate("window.benchTimes"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=16, help="units of each of the 3 items")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="unmeasured runs first: a worker's first scans of a flow are slower",
    )
    options = parser.parse_args()
    times: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'warehouse.sqlite3'}"
        warehouse_command(url, "init")
        warehouse_command(url, "demo")
        # A handheld and the server are two machines: here each gets a core of its own (when
        # there are two), so that drawing the page does not slow the server down.
        cores = sorted(os.sched_getaffinity(0))
        split = len(cores) >= 2
        if split:
            os.sched_setaffinity(0, cores[: len(cores) // 2])
        with running_service(url) as base, sync_playwright() as playwright:
            if split:
                os.sched_setaffinity(0, cores[len(cores) // 2 :])
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
            )
            for run in range(options.warmup + options.runs):
                units = {"a": options.units, "b": options.units, "c": options.units - 1}
                ground = make_ground(base, url, stock=units, orders={"one": units})
                # The page timer and the waits are scripts of the benchmark, not of the page.
                context = browser.new_context(
                    viewport=HANDHELD, has_touch=True, is_mobile=True, bypass_csp=True
                )
                context.add_init_script(TIMER)
                page = context.new_page()
                picked = pick(page, base, ground)
                packed = pack(page, base, ground)
                kind = "warm-up" if run < options.warmup else "measured"
                print(
                    f"{kind}: {len(picked)} pick scans, {len(packed)} pack scans, the first "
                    f"of each {picked[0]:.0f} and {packed[0]:.0f} ms"
                )
                if run >= options.warmup:
                    times += picked + packed
                context.close()
                ground.api.close()
            browser.close()
    print(
        f"Enter to outcome shown over {len(times)} scans: median {statistics.median(times):.1f} ms, "
        f"p90 {percentile(times, 0.90):.1f} ms, p99 {percentile(times, 0.99):.1f} ms, "
        f"max {max(times):.1f} ms (targets: median < 50 ms, p99 < 100 ms)"
    )


if __name__ == "__main__":
    main()
