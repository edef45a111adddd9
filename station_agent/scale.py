"""A pack station's serial scale: its lines read as weights, stable ones sent to the service.

Bench scales print lines such as `ST,GS,+  1.234kg` (A&D, many OEM), `US,GS,...` while the
load settles, `  1234 g`, or `   2.72 lb`. Only stable readings are sent, and only when they
change: the service keeps the latest, and the station's page offers it as the weight.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)

GRAMS = {"kg": 1000.0, "g": 1.0, "lb": 453.59237, "oz": 28.349523125}
READING = re.compile(r"([-+]?)\s*(\d+(?:\.\d+)?)\s*(kg|g|lb|oz)\b", re.IGNORECASE)
# Status words that mean the load has not settled, or the reading is not a weight.
UNSTABLE = re.compile(r"^\s*(US|OL|\?)|\bMOTION\b", re.IGNORECASE)


@dataclass(frozen=True)
class Reading:
    weight_g: int
    stable: bool


def parse_reading(line: str) -> Reading | None:
    """A scale's line as grams; None for a line with no weight in it."""
    found = READING.search(line)
    if found is None:
        return None
    sign, number, unit = found.groups()
    grams = round(float(number) * GRAMS[unit.lower()]) * (-1 if sign == "-" else 1)
    return Reading(grams, UNSTABLE.search(line) is None and grams >= 0)


class ScaleReporter:
    """Sends each new stable weight to the service (the latest only: a weight is not queued)."""

    def __init__(self, client: httpx.Client, service: str, station: str) -> None:
        self.client = client
        self.url = f"{service.rstrip('/')}/api/stations/{station}/scale"
        self.last: int | None = None

    def report(self, lines: Iterable[str], stop: threading.Event | None = None) -> None:
        """Read lines until they end (or `stop`), sending stable weights as they change."""
        for line in lines:
            if stop is not None and stop.is_set():
                return
            reading = parse_reading(line)
            if reading is None or not reading.stable or reading.weight_g == self.last:
                continue
            try:
                answer = self.client.post(self.url, json={"weight_g": reading.weight_g})
            except httpx.TransportError as exc:
                log.warning("The service did not take the weight (%s).", exc)
                continue
            if answer.status_code == 200:
                self.last = reading.weight_g
            else:
                log.warning(
                    "The service refused the weight: %s %s", answer.status_code, answer.text[:200]
                )
