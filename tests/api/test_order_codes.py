"""An order's own code is written and read by one rule, the configured order pattern: a
changed pattern still scans, off the packing slip too."""

from __future__ import annotations

import re

import pytest

from tests.api.test_picking import place_order
from tests.conftest import ApiClient, make_channel, service_app, stocked_product
from tests.unit.test_labels_render import pages, zbar, zxing
from warehouse.config import Config
from warehouse.scanning import order_code


def with_order_pattern(config: Config, pattern: str) -> Config:
    scanners = config.scanners.model_copy(update={"order_pattern": pattern})
    return config.model_copy(update={"scanners": scanners})


@pytest.mark.parametrize("pattern", ["O[0-9]{8,10}", r"SO\-[0-9]{7}X", r"\d{6}/W"])
def test_an_order_code_scans_back_to_its_order(
    config: Config, tokens: dict[str, str], pattern: str
) -> None:
    changed = with_order_pattern(config, pattern)
    api = ApiClient(service_app(changed).test_client(), tokens)
    order = place_order(api, make_channel(api), {stocked_product(api, 3): 1})
    code = order_code(changed, order["id"])
    assert re.fullmatch(pattern, code), code

    resolved = api.post("/api/barcodes/resolve", {"code": code})
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["kind"] == "order" and resolved.json["order"]["id"] == order["id"]

    # The packing slip carries the code in the changed shape, and a scan of it finds the order.
    slip = api.as_role("packer").get(f"/pack/{order['id']}/slip.pdf")
    assert slip.status_code == 200, slip.data[:200]
    first = pages(slip.data)[0]
    assert zbar(first) == {("CODE128", code)}
    assert set(zxing(first)) == {("]C0", code)}
    again = api.post("/api/barcodes/resolve", {"code": "]C0" + code})
    assert again.json["kind"] == "order" and again.json["order"]["id"] == order["id"]
