"""Labels from the real service (gunicorn, 2 workers) to a TCP listener standing in for the
pack station's printer: one label per carton, never a duplicate, and a label stored while
the printer is off reaches it once it is back."""

from __future__ import annotations

import itertools
import random
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import (
    PASSWORD,
    REPO,
    free_port,
    order_body,
    random_gtin13,
    ref,
    running_service,
    warehouse_command,
)
from tests.printer import FakePrinter

# Not collected again by tests/pg: the printers' side, not the database, is under test.
POSTGRESQL = False

STATION, PRINTER_PORT = "pack1", "port = 9100"
ITEM_G, SMALL_BOX_G = 400, 150
# The carton the pack screen offers to weigh and close.
CARTON = re.compile(
    r'data-testid="close-form">\s*<input type="hidden" data-field="carton" value="(\d+)"'
)
SSCC = re.compile(rb">;>800(\d{18})")
# Tote codes (T + 5 digits) no other order of this process holds.
_totes = itertools.count(10000 + secrets.randbelow(80000))


def station_config(folder: Path, printer_port: int) -> Path:
    """config.toml with the pack1 printer on `printer_port`; returns the copy's path."""
    text = (REPO / "config.toml").read_text()
    assert text.count(PRINTER_PORT) == 1, "config.toml no longer has one printer on 9100"
    copy = folder / "config.toml"
    copy.write_text(text.replace(PRINTER_PORT, f"port = {printer_port}"))
    return copy


def set_up_users(url: str) -> tuple[str, str]:
    """An admin with an API token and a packer with PASSWORD; returns (token, packer)."""
    admin, packer = ref("admin"), ref("packer")
    warehouse_command(url, "user", "add", admin, "--role", "admin")
    warehouse_command(url, "user", "add", packer, "--role", "packer", "--password", PASSWORD)
    return warehouse_command(url, "token", "create", admin).strip(), packer


class Api:
    """The running service's JSON API with a bearer token."""

    def __init__(self, base: str, token: str):
        self.http = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The answer's JSON; anything but 200 or 201 fails."""
        response = self.http.request(method, path, json=body)
        assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
        return response.json()

    def shipment(self, order: int) -> Any:
        """The order's latest shipment, as GET /api/shipments/{id} shows it."""
        shipments = self.call("GET", f"/api/orders/{order}")["shipments"]
        return self.call("GET", f"/api/shipments/{shipments[-1]['id']}")

    def close(self) -> None:
        self.http.close()


def stocked_products(api: Api, count: int, qty: int) -> list[str]:
    """`count` products of ITEM_G grams, `qty` units of each in a bin of the layout."""
    skus = []
    for _ in range(count):
        sku = ref("SKU")
        api.call("PUT", f"/api/products/{sku}",
                 {"name": f"Label test {sku}", "barcodes": [random_gtin13()],
                  "weight_g": ITEM_G})  # fmt: skip
        api.call("POST", "/api/stock/receipts", {"sku": sku, "location": layout_bin_of(api),
                                                 "qty": qty})  # fmt: skip
        skus.append(sku)
    return skus


def layout_bin_of(api: Api) -> str:
    """A bin inside config.toml's layout (aisles A01-A05, bays 01-08), made if new."""
    code = f"A0{random.randint(1, 5)}-{random.randint(1, 8):02d}-{random.randint(1, 9)}"
    api.call("PUT", f"/api/locations/{code}", {})
    return code


def picked_order(api: Api, channel: str, lines: dict[str, int]) -> int:
    """An order placed on `channel`, then picked whole into a tote; returns its id."""
    order = int(api.call("POST", f"/api/channels/{channel}/orders", order_body(lines))["id"])
    made = api.call("POST", "/api/pick-lists", {"orders": [order]})
    api.call("POST", f"/api/pick-lists/{made['id']}/start")
    (place,) = made["orders"]
    tote = f"T{next(_totes):05d}"
    api.call("PUT", f"/api/pick-lists/{made['id']}/totes/{place['slot']}", {"tote": tote})
    for pick in made["picks"]:
        api.call("POST", f"/api/pick-lists/{made['id']}/picks/{pick['id']}/confirm",
                 {"location": pick["location"], "sku": pick["sku"], "qty": pick["qty"],
                  "tote": tote})  # fmt: skip
    assert api.call("GET", f"/api/orders/{order}")["status"] == "picking"
    return order


def new_channel(api: Api) -> str:
    """A new sales channel; returns its code."""
    code = ref("ch").lower()
    api.call("PUT", f"/api/channels/{code}", {"name": f"Channel {code}"})
    return code


class Packer:
    """A packer signed in at a station, sending the pack and dock flows' events as the page's
    script does: JSON, each with a fresh scan id, and the session's CSRF token."""

    def __init__(self, base: str, name: str, station: str = STATION):
        self.http = httpx.Client(base_url=base, timeout=30)
        token = self.http.get("/api/session").json()["csrf_token"]
        signed_in = self.http.post(
            "/api/session",
            json={"name": name, "password": PASSWORD},
            headers={"X-CSRFToken": token},
        )
        assert signed_in.status_code == 200, signed_in.text
        # Signing in starts a new session, with a new CSRF token.
        self.csrf = signed_in.json()["csrf_token"]
        chosen = self.act("pack", "station", station=station)
        assert chosen.json()["state"] == {"station": station}, chosen.text

    def send(self, flow: str, event: dict[str, Any]) -> httpx.Response:
        """An event of a floor flow: a scan or a button, with a fresh scan id."""
        body = {"scan_id": secrets.token_hex(16), **event}
        return self.http.post(f"/api/floor/{flow}", json=body, headers={"X-CSRFToken": self.csrf})

    def scan(self, flow: str, code: str) -> httpx.Response:
        return self.send(flow, {"scan": {"code": code, "entry": "scanner"}})

    def act(self, flow: str, name: str, **values: str) -> httpx.Response:
        """A button of the flow's screen, with what was typed beside it."""
        answer = self.send(flow, {"action": {"name": name, "values": values}})
        assert answer.status_code == 200, answer.text
        return answer

    def view(self, flow: str) -> Any:
        """The person's state in a flow and its screen, as the page draws it."""
        page = self.http.get(f"/api/floor/{flow}")
        assert page.status_code == 200, page.text
        return page.json()

    def reprint(self, job: int) -> httpx.Response:
        """Press a label's reprint button on the pack screen."""
        return self.act("pack", "reprint", job=str(job))

    def fill_carton(self, skus: list[str]) -> str:
        """Open a small box and scan each SKU into it; returns the carton's number."""
        page = self.act("pack", "box", box="small")
        for sku in skus:
            page = self.scan("pack", sku)
            assert page.status_code == 200 and page.json()["outcome"] == "good", page.text
        found = CARTON.search(page.json()["panel"])
        assert found, page.text
        return found[1]

    def close_carton(self, carton: str, skus: list[str]) -> httpx.Response:
        """Weigh the carton at what it should weigh, and close it."""
        weight_kg = (SMALL_BOX_G + ITEM_G * len(skus)) / 1000
        return self.act("pack", "close", carton=carton, weight_kg=f"{weight_kg}")

    def bench(self, order: int) -> None:
        """Put the order on the bench by scanning its code."""
        page = self.scan("pack", f"O{order:08d}")
        assert page.status_code == 200, page.text
        assert f'data-testid="order">{order}<' in page.json()["panel"], page.text

    def pack(self, order: int, cartons: list[list[str]]) -> httpx.Response:
        """Pack the order, one list of SKUs per carton; returns the last close's answer."""
        self.bench(order)
        for skus in cartons:
            closed = self.close_carton(self.fill_carton(skus), skus)
            assert closed.json()["outcome"] == "good", closed.text
        assert 'data-testid="order-packed"' in closed.json()["panel"], closed.text
        return closed

    def load(self, order: int, ssccs: list[str]) -> httpx.Response:
        """At the dock: the order's packing slip, then each carton's label as it is loaded;
        returns the last label's answer."""
        assert self.scan("dock", f"O{order:08d}").json()["state"] == {"order": order}
        for sscc in ssccs:
            loaded = self.scan("dock", f"]C100{sscc}")
            assert loaded.status_code == 200 and loaded.json()["outcome"] == "good", loaded.text
        return loaded

    def close(self) -> None:
        self.http.close()


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """The first truthy result of `check`, polled until `timeout`; fails after it."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


def label_jobs(api: Api, order: int) -> list[dict[str, Any]]:
    """The label job of each of the order's shipment's cartons."""
    return [carton["label_job"] for carton in api.shipment(order)["cartons"]]


@contextmanager
def printer_on(port: int) -> Iterator[FakePrinter]:
    """The printer, switched on at `port` until the block ends."""
    printer = FakePrinter(port)
    try:
        yield printer
    finally:
        printer.close()


def test_one_label_per_carton_and_none_lost_while_the_printer_is_off(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/warehouse.sqlite3"
    warehouse_command(url, "init")
    token, packer_name = set_up_users(url)
    port = free_port()
    config = station_config(tmp_path, port)
    with running_service(url, workers=2, env={"WAREHOUSE_CONFIG": str(config)}) as base:
        api, packer = Api(base, token), None
        try:
            channel = new_channel(api)
            skus = stocked_products(api, 3, qty=2)
            three = picked_order(api, channel, dict.fromkeys(skus, 1))
            single = picked_order(api, channel, {skus[0]: 1})
            packer = Packer(base, packer_name)

            # Three cartons: three labels, one per carton, each with its carton's SSCC.
            with printer_on(port) as printer:
                packer.pack(three, [[sku] for sku in skus])
                labels = printer.wait_for(3, timeout=5)
                assert len(labels) == 3, labels
                for label in labels:
                    assert label.count(b"^XA") == label.count(b"^XZ") == 1, label
                    assert label.startswith(b"^XA") and label.rstrip().endswith(b"^XZ"), label
                each = [SSCC.findall(label) for label in labels]
                assert [len(found) for found in each] == [1, 1, 1], labels
                printed = [found[0].decode() for found in each]
                cartons = api.shipment(three)["cartons"]
                assert sorted(c["number"] for c in cartons) == [1, 2, 3]
                assert len(set(printed)) == 3
                assert sorted(printed) == sorted(c["sscc"] for c in cartons)
                wait_until(
                    lambda: all(job["status"] == "sent" for job in label_jobs(api, three)),
                    5,
                    "the three label jobs marked sent",
                )
                # Never a duplicate: a reprint asked for now comes through, nothing else.
                reprinted = packer.reprint(label_jobs(api, three)[0]["id"])
                assert reprinted.json()["message"] == f"Label sent again to {STATION}."
                again = printer.wait_for(4, timeout=5)
                assert len(again) == 4 and again[3] in labels
                assert printer.jobs[:3] == labels
                # The dock loads the cartons by the labels as they printed.
                loaded = packer.load(three, printed)
                assert f"Order {three} has shipped" in loaded.json()["message"], loaded.text
                assert api.call("GET", f"/api/orders/{three}")["status"] == "shipped"

            # The printer is off when the carton closes: the job waits, and is tried again.
            packer.pack(single, [[skus[0]]])
            wait_until(
                lambda: (
                    (job := label_jobs(api, single)[0])["status"] == "queued"
                    and job["attempts"] >= 2
                    and job["last_error"]
                ),
                10,
                "two failed tries while the printer is off",
            )
            # The packer sees the label did not print, and why, in words of the floor.
            panel = packer.view("pack")["panel"]
            assert 'data-testid="label-failure"' in panel and "did not print" in panel, panel
            assert "refused the connection" in panel and "Errno" not in panel, panel
            tried_again = packer.reprint(label_jobs(api, single)[0]["id"]).json()
            assert tried_again["outcome"] == "warn" and "did not print" in tried_again["message"]
            with printer_on(port) as printer:
                arrived = printer.wait_for(1, timeout=15)
                assert len(arrived) == 1, "the label did not reach the printer once it was on"
                label = arrived[0]
                (sscc,) = [c["sscc"] for c in api.shipment(single)["cartons"]]
                assert SSCC.findall(label) == [sscc.encode()]
                job = wait_until(
                    lambda: (job := label_jobs(api, single)[0])["status"] == "sent" and job,
                    5,
                    "the label job marked sent",
                )
                assert job["last_error"] == "" and job["sent_at"] and job["attempts"] >= 3
                # Sent once: a reprint asked for now comes through, nothing else.
                assert packer.reprint(job["id"]).json()["outcome"] == "good"
                assert printer.wait_for(2, timeout=5) == [label, label]
                assert printer.jobs == [label, label]
        finally:
            api.close()
            if packer is not None:
                packer.close()


def test_a_label_the_printer_took_without_finishing_waits_for_the_packers_word(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/warehouse.sqlite3"
    warehouse_command(url, "init")
    token, packer_name = set_up_users(url)
    port = free_port()
    config = station_config(tmp_path, port)
    env = {"WAREHOUSE_CONFIG": str(config), "WAREHOUSE_PRINTING_DEADLINE_S": "2"}
    with (
        running_service(url, workers=2, env=env) as base,
        FakePrinter(port, hold_open=True) as printer,
    ):
        api, packer = Api(base, token), Packer(base, packer_name)
        try:
            skus = stocked_products(api, 1, qty=1)
            order = picked_order(api, new_channel(api), {skus[0]: 1})
            packer.pack(order, [skus])
            # The printer took the label and never closed: it may have printed.
            held = wait_until(
                lambda: (job := label_jobs(api, order)[0])["status"] == "uncertain" and job,
                15,
                "the label job held for the packer's word",
            )
            assert "may have printed" in held["last_error"]
            panel = packer.view("pack")["panel"]
            assert 'data-testid="label-failure"' in panel and "may not have printed" in panel
            assert 'data-action="printed"' in panel and "Errno" not in panel, panel
            assert 'data-failing="1"' in panel
            # The packer looked: it printed. It is not sent again, and the dock takes it.
            said = packer.act("pack", "printed", job=str(held["id"])).json()
            assert said["outcome"] == "good" and "marked printed" in said["message"], said
            assert label_jobs(api, order)[0]["status"] == "sent"
            assert 'data-testid="label-failure"' not in packer.view("pack")["panel"]
            (sscc,) = [c["sscc"] for c in api.shipment(order)["cartons"]]
            assert SSCC.findall(printer.jobs[0]) == [sscc.encode()]
            loaded = packer.load(order, [sscc])
            assert f"Order {order} has shipped" in loaded.json()["message"], loaded.text
            assert len(printer.connections) == 1
        finally:
            api.close()
            packer.close()
