"""The scanner set-up page: print the test codes, scan each, and read what the scanner needs."""

from __future__ import annotations

import io
from dataclasses import asdict
from functools import cache

import barcode
import zxingcpp
from barcode.writer import ImageWriter
from flask import Blueprint, Response, abort, jsonify, render_template, request
from PIL import Image

from scanners.diagnose import (
    CODES_BY_NAME,
    SETUP_CODES,
    CaptureError,
    SetupCode,
    diagnose,
    read_captures,
    suggested_settings,
)
from scanners.read import GS
from warehouse.errors import InvalidInput
from warehouse.web import config, requires

bp = Blueprint("scanner_setup", __name__)

# Images are drawn at 10 pixels a millimetre, so the page can print them at their true size.
PIXELS_PER_MM = 10
_LINEAR = {"Code 128": barcode.Code128, "EAN-13": barcode.EAN13, "GS1-128": barcode.Gs1_128}
_LINEAR_OPTIONS = {
    "dpi": round(PIXELS_PER_MM * 25.4),
    "module_width": 0.3,  # mm: 3 pixels, so every bar is drawn alike
    "module_height": 15.0,
    "quiet_zone": 4.0,
    "write_text": False,  # the page prints the text, larger
}
_MATRIX_MODULE_PIXELS = 6  # 0.6 mm


@cache
def code_png(name: str) -> bytes:
    """One test code of the sheet as a PNG image."""
    code = CODES_BY_NAME[name]
    out = io.BytesIO()
    if code.symbology in _LINEAR:
        # python-barcode writes FNC1 as "\xf1"; its GS1-128 adds the leading one itself.
        content = code.content.replace(GS, "\xf1")
        _LINEAR[code.symbology](content, writer=ImageWriter()).write(out, _LINEAR_OPTIONS)
    else:
        # In GS1 mode zxing-cpp takes the parenthesized form and writes FNC1 where it is due.
        symbol = zxingcpp.create_barcode(code.label, zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
        Image.fromarray(symbol.to_image(scale=_MATRIX_MODULE_PIXELS)).save(out, "PNG")
    return out.getvalue()


def _width_mm(code: SetupCode) -> float:
    with Image.open(io.BytesIO(code_png(code.name))) as image:
        return float(image.width / PIXELS_PER_MM)


@bp.route("/scanner-setup")
@requires("scanners.setup")
def page() -> str:
    """The test codes to print and scan, and the capture area."""
    widths = {code.name: _width_mm(code) for code in SETUP_CODES}
    scanners = config().scanners
    prefix = scanners.prefix or SUGGESTED_PREFIX
    return render_template(
        "scanner_setup.html", codes=SETUP_CODES, widths=widths, prefix=prefix,
        prefix_set=bool(scanners.prefix), prefix_hex=_hex(prefix), suffix=scanners.suffix,
        suffix_hex=_hex(scanners.suffix),
    )  # fmt: skip


# A character no barcode the floor reads begins with (outside GS1's character set), and
# every keyboard layout types.
SUGGESTED_PREFIX = "~"


def _hex(text: str) -> list[str]:
    """The characters as the two hex digits a scanner's programming chart asks for."""
    return [f"{ord(char):02X}" for char in text]


@bp.route("/scanner-setup/codes/<name>.png")
@requires("scanners.setup")
def code_image(name: str) -> Response:
    """One test code as an image."""
    if name not in CODES_BY_NAME:
        abort(404)
    response = Response(code_png(name), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/scanner-setup/diagnose", methods=["POST"])
@requires("scanners.setup")
def diagnose_captures() -> Response:
    """What the captured scans say about the scanner, and the settings that fix it."""
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidInput('The body is not JSON: send {"captures": [...]}.')
    try:
        captures = read_captures(body)
    except CaptureError as wrong:
        raise InvalidInput(wrong.message, field=wrong.field) from None
    diagnosis = diagnose(captures)
    return jsonify(
        findings=[asdict(finding) for finding in diagnosis.findings],
        readings=[asdict(reading) for reading in diagnosis.readings],
        settings=suggested_settings(diagnosis),
    )
