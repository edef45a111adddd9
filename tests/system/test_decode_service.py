"""Photos decoded by the served service while others write: a decode holds no write lock while
it reads the photo, so two decodes at once both answer and a receipt meanwhile is booked."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from tests import photos
from tests.conftest import running_service, warehouse_command
from warehouse import catalog
from warehouse.config import Config, DatabaseConfig
from warehouse.db import make_engine, make_sessionmaker, writing

# A waiting writer gives up after this long: far shorter than one decode of the photo below.
BUSY_TIMEOUT_MS = 400


def send(request: urllib.request.Request) -> tuple[int, Any, float, float]:
    """The status, the JSON answer, and when the request was sent and answered."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, body = response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        status, body = error.code, json.loads(error.read() or b"null")
    return status, body, started, time.monotonic()


def decode_request(base: str, token: str, image: bytes) -> urllib.request.Request:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
            f'filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return urllib.request.Request(
        f"{base}/api/barcodes/decode",
        data=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        method="POST",
    )


def test_two_decodes_and_a_receipt_at_once_all_answer(empty_database_url: str) -> None:
    url = empty_database_url
    warehouse_command(url, "init")
    warehouse_command(url, "user", "add", "camera-bot", "--role", "receiver")
    token = warehouse_command(url, "token", "create", "camera-bot").strip()
    config = Config(database=DatabaseConfig(url=url))
    engine = make_engine(config.database)
    with writing(make_sessionmaker(engine)) as session:
        catalog.put_location(session, "A01-01-1", config.warehouse.location_pattern)
        catalog.put_product(session, "CAM-1", catalog.ProductSpec(name="Camera test"))
    engine.dispose()
    # A 12-megapixel phone photo with nothing to find: every retry of the decoder runs, for
    # a few seconds.
    image = photos.jpeg(photos._random_image(random.Random(1), (4032, 3024)))
    receipt = json.dumps({"sku": "CAM-1", "location": "A01-01-1", "qty": 2}).encode()
    answers: dict[str, tuple[int, Any, float, float]] = {}

    def decode(name: str) -> None:
        answers[name] = send(decode_request(base, token, image))

    env = {"WAREHOUSE_DATABASE_BUSY_TIMEOUT_MS": str(BUSY_TIMEOUT_MS)}
    with running_service(url, workers=3, env=env) as base:
        decodes = [threading.Thread(target=decode, args=(name,)) for name in ("one", "two")]
        for thread in decodes:
            thread.start()
        time.sleep(0.5)  # both decodes are reading their photos now
        answers["receipt"] = send(
            urllib.request.Request(
                f"{base}/api/stock/receipts",
                data=receipt,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                method="POST",
            )
        )
        for thread in decodes:
            thread.join()
    one, two, booked = answers["one"], answers["two"], answers["receipt"]
    assert one[:2] == two[:2] == (200, {"codes": []}), answers
    assert booked[0] == 201, booked
    # Each decode took longer than a writer waits, and the receipt was booked while both
    # were still decoding: neither held the write lock meanwhile.
    assert min(one[3] - one[2], two[3] - two[2]) > BUSY_TIMEOUT_MS / 1000
    assert booked[3] < min(one[3], two[3])
