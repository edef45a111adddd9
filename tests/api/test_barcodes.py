"""POST /api/barcodes/resolve: what a raw scan names, refusals as 422, every scan logged once."""

from __future__ import annotations

import io
import random
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanners.gtin import with_check_digit
from tests import photos
from tests.conftest import ApiClient, make_location, make_product, random_gtin13, ref
from warehouse.models import ScanLog

GS = "\x1d"


def resolve(api: ApiClient, code: str, **fields: Any) -> Any:
    return api.post("/api/barcodes/resolve", {"code": code, **fields})


def log_of(db: Session, scan_id: str) -> list[ScanLog]:
    db.rollback()
    return list(db.scalars(select(ScanLog).where(ScanLog.scan_id == scan_id)))


def new_scan_id() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def case_product(api: ApiClient) -> dict[str, Any]:
    """A product with a unit EAN-13 and a GTIN-14 case of 12."""
    unit = random_gtin13()
    case = with_check_digit("1" + unit[:12])
    product = make_product(api, barcodes=[unit], cases=[{"code": case, "units": 12}])
    return {"sku": product["sku"], "unit": unit, "case": case}


def test_resolve_product_in_every_gtin_form(api: ApiClient, case_product: dict[str, Any]) -> None:
    unit, sku = case_product["unit"], case_product["sku"]
    for code in (unit, "0" + unit, "]E0" + unit, f"(01)0{unit}", f"]C101{'0' + unit}"):
        answer = resolve(api, code)
        assert answer.status_code == 200, (code, answer.json)
        assert answer.json["kind"] == "product" and answer.json["sku"] == sku, code
        assert "units" not in answer.json
    case = resolve(api, case_product["case"]).json
    assert case["kind"] == "product" and case["sku"] == sku and case["units"] == 12


def test_resolve_gs1_carries_lot_expiry_serial_count(
    api: ApiClient, case_product: dict[str, Any]
) -> None:
    gtin14 = "0" + case_product["unit"]
    answer = resolve(api, f"]d201{gtin14}1727063010LOT-7{GS}21SER9{GS}3024")
    assert answer.status_code == 200, answer.json
    assert answer.json["kind"] == "product" and answer.json["sku"] == case_product["sku"]
    assert answer.json["symbology"] == "]d2"
    assert answer.json["gs1"] == {
        "gtin": gtin14,
        "lot": "LOT-7",
        "expiry": "2027-06-30",
        "serial": "SER9",
        "count": 24,
    }


def test_resolve_internal_codes(api: ApiClient, staff: Any) -> None:
    bin_ = make_location(api)
    product = make_product(api, barcodes=[random_gtin13(), f"INT-{secrets.token_hex(3)}"])
    internal = next(code for code in product["barcodes"] if code.startswith("INT-"))
    assert resolve(api, bin_).json == {"kind": "location", "location": bin_, "code": bin_}
    assert resolve(api, internal).json["sku"] == product["sku"]
    assert resolve(api, product["sku"]).json["kind"] == "product"
    assert resolve(api, "T12345").json == {"kind": "tote", "tote": "T12345", "code": "T12345"}
    assert resolve(api, "C00000042").json["kind"] == "carton"
    badge = staff["picker"].badge
    assert resolve(api, badge).json["user"] == {"name": staff["picker"].name, "role": "picker"}
    for nothing in ("U999999", "O99999999", "nothing-like-it", "4006381333931"):
        assert resolve(api, nothing).json["kind"] == "unknown", nothing


def test_resolve_strips_configured_framing(api: ApiClient, case_product: dict[str, Any]) -> None:
    # The default config has no prefix; a trailing Enter or Tab from a wedge is dropped.
    answer = resolve(api, case_product["unit"] + "\r\n")
    assert answer.json["kind"] == "product"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("4006381333932", "bad_check_digit"),
        ("]C10100000000000001", "bad_check_digit"),
        ("(01)04006381333931(17)251399", "malformed_gs1"),
        ("(99)", "malformed_gs1"),
        ("]C1" + "01040063813339311725139910ABC", "malformed_gs1"),
        ("ABC\x07DEF", "control_character"),
        ("ABC\x00DEF", "control_character"),
        ("", "empty"),
        ("X" * (10 * 1024 * 1024), "too_long"),
    ],
)
def test_resolve_refusals_are_logged(api: ApiClient, db: Session, code: str, reason: str) -> None:
    scan_id = new_scan_id()
    answer = resolve(api, code, scan_id=scan_id)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"] == reason and answer.json["error"]["field"] == "code"
    (entry,) = log_of(db, scan_id)
    assert not entry.accepted and entry.reason == reason and entry.raw_length == len(code)
    # PostgreSQL keeps no NUL: it is logged as U+FFFD.
    assert entry.raw == code[:512].replace("\x00", "\ufffd") and entry.result is None


def test_every_scan_is_logged_with_who_where_and_time(
    api: ApiClient, db: Session, case_product: dict[str, Any]
) -> None:
    scan_id = new_scan_id()
    station = ref("pack")
    answer = resolve(api.as_role("packer"), case_product["case"], station=station, scan_id=scan_id)
    assert answer.status_code == 200
    (entry,) = log_of(db, scan_id)
    assert entry.accepted and entry.kind == "product" and entry.station == station
    assert entry.source == "agent" and entry.user_id is not None and entry.ms > 0
    assert entry.result is not None and entry.result["units"] == 12
    db.rollback()
    before = db.scalar(select(func.count()).select_from(ScanLog))
    resolve(api, "no such thing")
    db.rollback()
    assert db.scalar(select(func.count()).select_from(ScanLog)) == (before or 0) + 1


def test_a_replayed_scan_is_answered_once(
    api: ApiClient, db: Session, case_product: dict[str, Any]
) -> None:
    scan_id = new_scan_id()
    first = resolve(api, case_product["unit"], scan_id=scan_id)
    again = resolve(api, case_product["unit"], scan_id=scan_id)
    assert first.status_code == again.status_code == 200 and first.json == again.json
    assert len(log_of(db, scan_id)) == 1
    refused_id = new_scan_id()
    assert resolve(api, "4006381333932", scan_id=refused_id).status_code == 422
    replay = resolve(api, "4006381333932", scan_id=refused_id)
    assert replay.status_code == 422 and replay.json["error"]["code"] == "bad_check_digit"
    assert len(log_of(db, refused_id)) == 1
    # Someone else's scan id is not theirs to replay.
    stolen = resolve(api.as_role("picker"), case_product["unit"], scan_id=scan_id)
    assert stolen.status_code == 409


def test_one_scan_delivered_many_times_at_once_is_logged_once(
    app: Any, tokens: dict[str, str], db: Session, case_product: dict[str, Any]
) -> None:
    scan_id = new_scan_id()
    headers = {"Authorization": f"Bearer {tokens['packer']}"}
    body = {"code": case_product["case"], "station": "pack-1", "scan_id": scan_id}

    def deliver(_: int) -> tuple[int, Any]:
        answer = app.test_client().post("/api/barcodes/resolve", json=body, headers=headers)
        return answer.status_code, answer.json

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(deliver, range(16)))
    assert {status for status, _ in answers} == {200}
    assert all(json == answers[0][1] for _, json in answers)
    assert len(log_of(db, scan_id)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"code": 42},
        {"code": None},
        {"code": "X", "scan_id": "short"},
        {"code": "X", "scan_id": "a b c d e f g h"},
    ],
)
def test_resolve_bad_requests(api: ApiClient, body: dict[str, Any]) -> None:
    answer = api.post("/api/barcodes/resolve", body)
    assert answer.status_code == 422 and "error" in answer.json


def test_resolve_needs_credentials(client: Any) -> None:
    assert client.post("/api/barcodes/resolve", json={"code": "X"}).status_code == 401


def decode(api: ApiClient, data: bytes, name: str = "photo.jpg") -> Any:
    headers = {"Authorization": f"Bearer {api.tokens[api.role]}"}
    return api.client.post(
        "/api/barcodes/decode",
        data={"image": (io.BytesIO(data), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_decode_reads_a_photo_and_its_text_resolves(
    api: ApiClient, case_product: dict[str, Any]
) -> None:
    gtin14 = "0" + case_product["unit"]
    picture = photos.photo(
        photos.symbol("gs1_datamatrix", f"(01){gtin14}(17)271231(10)LOT-3"), random.Random(4)
    )
    answer = decode(api, photos.jpeg(picture, quality=80))
    assert answer.status_code == 200, answer.json
    (code,) = answer.json["codes"]
    assert code["symbology"] == "datamatrix" and code["text"].startswith("]d2")
    resolved = resolve(api, code["text"]).json
    assert resolved["sku"] == case_product["sku"] and resolved["gs1"]["lot"] == "LOT-3"


def test_decode_finds_nothing_in_a_photo_without_a_code(api: ApiClient) -> None:
    blank = photos.photo(Image.new("L", (40, 40), 255), random.Random(5))
    answer = decode(api, photos.jpeg(blank))
    assert answer.status_code == 200 and answer.json == {"codes": []}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"just some text, not a photo", "not_an_image"),
        (b"", "empty"),
        ("truncated", "not_an_image"),
        ("bomb", "too_many_pixels"),
        ("huge", "too_large"),
    ],
)
def test_decode_refuses_what_is_not_a_usable_image(
    api: ApiClient, db: Session, data: Any, reason: str
) -> None:
    if data == "truncated":
        whole = photos.jpeg(photos.photo(photos.symbol("ean13", "5901234123457"), random.Random(6)))
        data = whole[: len(whole) // 2]
    elif data == "bomb":
        data = photos.png_header_only(20000, 20000)
    elif data == "huge":
        data = secrets.token_bytes(11 * 1024 * 1024)
    db.rollback()
    before = db.scalar(select(func.count()).select_from(ScanLog).where(ScanLog.reason == reason))
    answer = decode(api, data)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"] == reason and answer.json["error"]["field"] == "image"
    db.rollback()
    after = db.scalar(select(func.count()).select_from(ScanLog).where(ScanLog.reason == reason))
    assert after == (before or 0) + 1
    # The service is still up and reading.
    assert resolve(api, "A01-01-1").status_code == 200


def test_decode_needs_the_image_field(api: ApiClient) -> None:
    headers = {"Authorization": f"Bearer {api.tokens['admin']}"}
    answer = api.client.post("/api/barcodes/decode", data={}, headers=headers)
    assert answer.status_code == 422 and answer.json["error"]["field"] == "image"
