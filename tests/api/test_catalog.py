"""Products, barcodes and locations through the API."""

from __future__ import annotations

import random

import pytest

from scanners.gtin import with_check_digit
from tests.conftest import ApiClient, make_product, random_gtin13, ref


def test_put_creates_then_updates_a_product(api: ApiClient) -> None:
    sku = ref("SKU")
    gtin = random_gtin13()
    body = {
        "name": "Blue mug",
        "barcodes": [gtin],
        "unit_price": 9.5,
        "unit_cost": 4,
        "weight_g": 350,
    }
    created = api.put(f"/api/products/{sku}", body)
    assert created.status_code == 201
    assert created.json == {
        "sku": sku,
        "name": "Blue mug",
        "barcodes": [gtin],
        "cases": [],
        "unit_price": 9.5,
        "unit_cost": 4.0,
        "weight_g": 350,
    }
    updated = api.put(f"/api/products/{sku}", {"name": "Navy mug", "barcodes": [gtin]})
    assert updated.status_code == 200
    assert api.get(f"/api/products/{sku}").json["name"] == "Navy mug"


def test_unknown_product_is_404(api: ApiClient) -> None:
    response = api.get(f"/api/products/{ref('NOPE')}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_sku"


def test_upc_a_ean13_and_gtin14_forms_are_one_barcode(api: ApiClient) -> None:
    upc_a = with_check_digit("0" + "".join(random.choices("0123456789", k=10)))  # 12 digits
    ean13, gtin14 = "0" + upc_a, "00" + upc_a
    owner = make_product(api, barcodes=[upc_a])
    for form in (ean13, gtin14):
        clash = api.put(f"/api/products/{ref('SKU')}", {"name": "Other", "barcodes": [form]})
        assert clash.status_code == 409, form
        assert clash.json["error"]["code"] == "barcode_taken"
        assert owner["sku"] in clash.json["error"]["message"]


@pytest.mark.parametrize(
    "barcode",
    ["4006381333932", "036000291453", "96385075", "10614141000049"],
    ids=["ean13", "upc-a", "ean8", "gtin14"],
)
def test_a_gtin_with_a_wrong_check_digit_is_refused(api: ApiClient, barcode: str) -> None:
    sku = ref("SKU")
    response = api.put(f"/api/products/{sku}", {"name": "Bad", "barcodes": [barcode]})
    assert response.status_code == 422
    assert response.json["error"] == {
        "code": "invalid_gtin",
        "field": "barcodes",
        "message": response.json["error"]["message"],
    }
    assert "check digit" in response.json["error"]["message"]
    assert api.get(f"/api/products/{sku}").status_code == 404


def test_a_taken_barcode_changes_nothing(api: ApiClient) -> None:
    first = make_product(api)
    second = make_product(api)
    response = api.put(
        f"/api/products/{second['sku']}",
        {"name": "Renamed", "barcodes": [random_gtin13(), first["barcodes"][0]]},
    )
    assert response.status_code == 409
    assert api.get(f"/api/products/{second['sku']}").json == second


def test_case_barcodes_and_internal_codes(api: ApiClient) -> None:
    inner = random_gtin13()
    case = with_check_digit("1" + inner[:12])
    internal = ref("int").lower()
    product = make_product(api, barcodes=[inner, internal], cases=[{"code": case, "units": 12}])
    assert product["barcodes"] == [inner, internal]
    assert product["cases"] == [{"code": case, "units": 12}]


def test_put_replaces_the_barcode_set(api: ApiClient) -> None:
    product = make_product(api)
    old = product["barcodes"][0]
    new = random_gtin13()
    api.put(f"/api/products/{product['sku']}", {"name": "x", "barcodes": [new]})
    # The dropped barcode is free for another product now.
    make_product(api, barcodes=[old])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"barcodes": []}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "weight_g": -1}, "weight_g"),
        ({"name": "x", "weight_g": "heavy"}, "weight_g"),
        ({"name": "x", "unit_price": -2}, "unit_price"),
        ({"name": "x", "cases": [{"code": "CASE-1", "units": 0}]}, "cases[0].units"),
        ({"name": "x", "barcodes": ["has space"]}, "barcodes"),
    ],
)
def test_bad_product_input_is_refused(api: ApiClient, body: dict, field: str) -> None:
    sku = ref("SKU")
    response = api.put(f"/api/products/{sku}", body)
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert api.get(f"/api/products/{sku}").status_code == 404


def test_a_sku_that_cannot_travel_is_refused(api: ApiClient) -> None:
    response = api.put("/api/products/-bad*sku", {"name": "x"})
    assert response.status_code == 422
    assert response.json["error"]["field"] == "sku"


def test_location_place_comes_from_its_code(api: ApiClient) -> None:
    created = api.put("/api/locations/Q07-12-3", {"zone": "pick"})
    assert created.status_code in (200, 201)
    assert created.json == {
        "code": "Q07-12-3",
        "zone": "pick",
        "pickable": True,
        "sellable": True,
        "aisle": "Q07",
        "bay": "12",
        "level": "3",
    }
    again = api.put("/api/locations/Q07-12-3", {"pickable": False})
    assert again.status_code == 200
    assert again.json["pickable"] is False and again.json["zone"] == "pick"


def test_places_outside_the_aisles_are_not_pickable(api: ApiClient) -> None:
    response = api.put(f"/api/locations/DOCK-{len(ref()) % 90 + 1}", {})
    assert response.json["aisle"] is None
    assert response.json["pickable"] is False


@pytest.mark.parametrize("code", ["a01-01-1", "A1-01-1", "A01-01", "shelf 3"])
def test_a_location_code_outside_the_pattern_is_refused(api: ApiClient, code: str) -> None:
    response = api.put(f"/api/locations/{code}", {})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_location_code"
    assert api.get(f"/api/locations/{code}").status_code == 404


def test_unknown_location_is_404(api: ApiClient) -> None:
    response = api.get("/api/locations/Z99-99-9")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_location"
