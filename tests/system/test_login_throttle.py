"""Wrong PINs sent at once through two app servers on one database are counted one by one:
no more tries are checked than the throttle allows."""

from __future__ import annotations

import http.cookiejar
import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

from tests.conftest import running_service, warehouse_command

BADGE, PIN = "U424242", "1234"


def _signed_out_browser(base: str) -> tuple[urllib.request.OpenerDirector, str]:
    """A browser of its own (a cookie jar) on the sign-in step, and its CSRF token."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with browser.open(base + "/api/session", timeout=30) as answer:
        return browser, json.load(answer)["csrf_token"]


def _wrong_pin(base: str, browser: urllib.request.OpenerDirector, csrf: str) -> int:
    request = urllib.request.Request(
        base + "/api/session",
        data=json.dumps({"badge": BADGE, "pin": "0000"}).encode(),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
        method="POST",
    )
    try:
        with browser.open(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_wrong_pins_at_once_over_two_servers_are_counted_exactly(empty_database_url: str) -> None:
    url = empty_database_url
    warehouse_command(url, "init")
    warehouse_command(url, "user", "add", "pin-tester", "--role", "picker", "--badge", BADGE,
                      "--pin", PIN)  # fmt: skip
    # The fourth failure locks the badge at this address for 15 minutes.
    env = {"WAREHOUSE_AUTH_FREE_ATTEMPTS": "3", "WAREHOUSE_AUTH_MAX_ATTEMPTS": "4"}
    with (
        running_service(url, workers=2, env=env) as first,
        running_service(url, workers=2, env=env) as second,
    ):
        tries = [(base, *_signed_out_browser(base)) for base in (first, second) * 6]
        start = threading.Barrier(len(tries))
        statuses: list[int] = []

        def attempt(base: str, browser: Any, csrf: str) -> None:
            start.wait()
            statuses.append(_wrong_pin(base, browser, csrf))

        threads = [threading.Thread(target=attempt, args=one) for one in tries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert Counter(statuses) == {401: 4, 429: 8}
        # The right PIN is locked out too, from here, until a supervisor unlocks it.
        browser, csrf = _signed_out_browser(first)
        assert _wrong_pin(first, browser, csrf) == 429
