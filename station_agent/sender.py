"""Posting the outbox's scans to the service, strictly in order, retrying until each is answered.

The service's contract for POST /api/barcodes/resolve: 200, the scan was read and logged;
422, the scan was refused (bad check digit, malformed GS1 ...) but logged too, so it is
delivered and is not sent again; 409, the scan_id is logged already for another user, so it
is delivered too; 401/403, the token is wrong, so wait long and try again; anything else (no
connection, timeouts, 5xx) may pass, so back off and send the same scan again. A repeated
scan_id is the same scan to the service, so sending twice doubles nothing.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import httpx

from station_agent.outbox import Outbox, QueuedScan

log = logging.getLogger(__name__)


class Sender:
    """Sends the outbox's scans one at a time, oldest first, from its own thread."""

    def __init__(
        self,
        outbox: Outbox,
        service: str,
        token: str,
        station: str,
        *,
        timeout: float = 10.0,
        first_delay: float = 0.2,
        max_delay: float = 5.0,
        auth_delay: float = 30.0,
    ) -> None:
        self.outbox = outbox
        self.url = service.rstrip("/") + "/api/barcodes/resolve"
        self.station = station
        self.first_delay, self.max_delay, self.auth_delay = first_delay, max_delay, auth_delay
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "warehouse-agent"},
        )
        self._delay = first_delay
        self._trouble: str | None = None

    def run(self, stop: threading.Event) -> None:
        """Send until `stop` is set, waiting for new scans and retrying as the answers say."""
        while not stop.is_set():
            scan = self.outbox.first()
            if scan is None:
                self.outbox.wait(0.5)
                continue
            retry_in = self.send(scan)
            if retry_in is not None:
                stop.wait(retry_in)
        self.client.close()

    def send(self, scan: QueuedScan) -> float | None:
        """Post one scan. None when the service answered it (and it left the outbox);
        otherwise the seconds to wait before sending it again."""
        body = {"code": scan.code, "station": self.station, "scan_id": scan.scan_id}
        try:
            response = self.client.post(self.url, json=body)
        except httpx.TransportError as exc:  # refused, reset, timed out, name not found
            return self._retry(f"The service cannot be reached ({exc or type(exc).__name__})")
        status = response.status_code
        answer = _json(response)
        if status == 200 and "kind" in answer:
            self._answered(scan)
            print(f"sent     {scan.code!r}: {answer['kind']}", flush=True)
            return None
        if status == 422:
            self._answered(scan)
            error = answer.get("error") or {}
            print(
                f"refused  {scan.code!r}: {error.get('code', '?')}: {error.get('message', '')}",
                file=sys.stderr,
                flush=True,
            )
            return None
        if status == 409:
            # The scan_id is in the service's log already, under another user: the token was
            # changed between a send and its retry. The scan is logged, so it is delivered.
            self._answered(scan)
            print(f"logged   {scan.code!r}: already, by another user", file=sys.stderr, flush=True)
            return None
        if status in (401, 403):
            self._report(
                f"The service refuses the token ({status}): fix --token",
                f"{self.outbox.count()} scans are kept; trying again every {self.auth_delay:g} s",
            )
            return self.auth_delay
        return self._retry(f"The service answered {status} {response.reason_phrase}")

    def _answered(self, scan: QueuedScan) -> None:
        self.outbox.mark_sent(scan.scan_id)
        self._delay = self.first_delay
        if self._trouble is not None:
            log.warning("The service answers again; sending the waiting scans.")
            self._trouble = None

    def _retry(self, why: str) -> float:
        delay, self._delay = self._delay, min(self._delay * 2, self.max_delay)
        self._report(why, f"{self.outbox.count()} scans are kept and will be sent")
        return delay

    def _report(self, trouble: str, detail: str) -> None:
        # Said once, not at every retry: a service down for an hour would flood the log.
        if trouble != self._trouble:
            log.warning("%s; %s.", trouble, detail)
            self._trouble = trouble


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
