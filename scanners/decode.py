"""Reading the barcodes in a photo: an upload from a phone camera or a webcam frame.

The upload is checked before any pixel is decoded (its size in bytes, its format, its pixel
count from the header), turned upright by its EXIF orientation, made grey and scaled to
about `work_pixels`; then zxing-cpp and pyzbar look at it, and at enhanced copies when
nothing is found. Each symbol's text is what a scanner would send, so that
scanners.read.read_scan reads it: GS1 symbols carry their AIM symbology identifier (]C1,
]d2, ]Q3, ]e0) and FNC1 separators as GS. Everything refused is an ImageError.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable
from ctypes import POINTER, c_uint, string_at
from dataclasses import dataclass

import zxingcpp
from PIL import Image, ImageChops, ImageFilter, ImageOps
from pyzbar import wrapper as zbar

log = logging.getLogger(__name__)

# What phones and webcams upload. The rest of Pillow's formats stay closed: it would start
# Ghostscript for EPS, and little-used decoders are where the bugs are.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# zxing-cpp refuses a side over 65535 pixels; a strip of 100000x50 is no photo, but it is
# still read, scaled down (the enlarged view doubles this).
MAX_SIDE = 8192


@dataclass(frozen=True)
class DecodeLimits:
    """What an upload may be, in bytes and in pixels, and the size a photo is read at."""

    max_bytes: int = 10 * 1024 * 1024
    # Against decompression bombs: a 20000x20000 PNG of one colour is a few kilobytes.
    max_pixels: int = 40_000_000
    # Larger photos are scaled down to about this many pixels before decoding. Measured on
    # 40 hard 4032x3024 photos (tests/bench/bench_decode.py work): 0.5 MP read 34, median
    # 18 ms; 1 MP 38, 30 ms; 1.6 MP 39, 35 ms; 2.5 MP 39, 48 ms; 4 MP 39, 102 ms.
    work_pixels: int = 1_600_000


@dataclass(frozen=True)
class Decoded:
    """One symbol found: its symbology (ean13, code128, datamatrix, ...) and its text."""

    symbology: str
    text: str


class ImageError(ValueError):
    """An upload we cannot look at; `code` names why, the message says it to a person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _fit(size: tuple[int, int], pixels: int) -> tuple[int, int]:
    """The size scaled down, keeping its shape, to about `pixels` pixels and no side longer
    than MAX_SIDE."""
    scale = min(1.0, math.sqrt(pixels / (size[0] * size[1])), MAX_SIDE / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _load(data: bytes, limits: DecodeLimits = DecodeLimits()) -> Image.Image:
    """The upload as an upright grey image of at most about work_pixels; raises ImageError."""
    if not data:
        raise ImageError("empty", "The upload is empty.")
    if len(data) > limits.max_bytes:
        raise ImageError("too_large", f"The image is larger than {limits.max_bytes / 2**20:g} MB.")
    too_many = ImageError(
        "too_many_pixels", f"The image has more than {limits.max_pixels:,} pixels."
    )
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            # Image.open has read the header only: refuse a bomb before decoding its pixels.
            if image.width * image.height > limits.max_pixels:
                raise too_many
            # A JPEG decodes straight to grey, at 1/2, 1/4 or 1/8 scale if that still
            # covers the work size; a 12 MP photo then costs a fraction of its full decode.
            image.draft("L", _fit(image.size, limits.work_pixels))
            upright = ImageOps.exif_transpose(image).convert("L")
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (Image.MAX_IMAGE_PIXELS, left as it is for the whole process)
        # fires in Image.open above twice its limit, before our check sees the size.
        raise too_many from None
    except Exception:
        # Pillow's decoders answer hostile or truncated files with OSError, SyntaxError,
        # ValueError, EOFError, struct.error and more; to the person it is all one thing.
        raise ImageError(
            "not_an_image", "This is not a JPEG, PNG, WebP, GIF, BMP or TIFF image we can read."
        ) from None
    size = _fit(upright.size, limits.work_pixels)
    return upright if size == upright.size else upright.resize(size, Image.Resampling.BILINEAR)


# zxing-cpp's formats -> our names; formats not listed keep zxing-cpp's name, lower-cased.
_ZXING_NAMES = {
    zxingcpp.BarcodeFormat.EAN13: "ean13",
    zxingcpp.BarcodeFormat.EAN8: "ean8",
    zxingcpp.BarcodeFormat.UPCA: "upca",
    zxingcpp.BarcodeFormat.UPCE: "upce",
    zxingcpp.BarcodeFormat.Code128: "code128",
    zxingcpp.BarcodeFormat.Code39: "code39",
    zxingcpp.BarcodeFormat.Code93: "code93",
    zxingcpp.BarcodeFormat.ITF: "itf",
    zxingcpp.BarcodeFormat.Codabar: "codabar",
    zxingcpp.BarcodeFormat.DataBarOmni: "databar",
    zxingcpp.BarcodeFormat.DataBarStk: "databar",
    zxingcpp.BarcodeFormat.DataBarStkOmni: "databar",
    zxingcpp.BarcodeFormat.DataBarLtd: "databar_limited",
    zxingcpp.BarcodeFormat.DataBarExp: "databar_expanded",
    zxingcpp.BarcodeFormat.DataBarExpStk: "databar_expanded",
    zxingcpp.BarcodeFormat.QRCode: "qrcode",
    zxingcpp.BarcodeFormat.DataMatrix: "datamatrix",
    zxingcpp.BarcodeFormat.PDF417: "pdf417",
    zxingcpp.BarcodeFormat.Aztec: "aztec",
}


def _read_zxing(image: Image.Image) -> list[Decoded]:
    """The symbols zxing-cpp finds in a grey image."""
    found = []
    for symbol in zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain):
        name = _ZXING_NAMES.get(symbol.format) or str(symbol.format).lower().replace(" ", "_")
        text = symbol.text
        if symbol.content_type == zxingcpp.ContentType.GS1:
            text = symbol.symbology_identifier + text
        found.append(Decoded(name, text))
    return found


# zbar's symbologies -> our names and, for GS1 ones, their AIM identifier. zbar reports
# UPC-A and UPC-E as the EAN-13 they stand for, as zxing-cpp does UPC-A.
_ZBAR = {
    zbar.ZBarSymbol.EAN13: ("ean13", ""),
    zbar.ZBarSymbol.EAN8: ("ean8", ""),
    zbar.ZBarSymbol.CODE128: ("code128", "]C1"),
    zbar.ZBarSymbol.CODE39: ("code39", ""),
    zbar.ZBarSymbol.CODE93: ("code93", ""),
    zbar.ZBarSymbol.I25: ("itf", ""),
    zbar.ZBarSymbol.CODABAR: ("codabar", ""),
    zbar.ZBarSymbol.DATABAR: ("databar", "]e0"),
    zbar.ZBarSymbol.DATABAR_EXP: ("databar_expanded", "]e0"),
    zbar.ZBarSymbol.QRCODE: ("qrcode", "]Q3"),
}
_ZBAR_GREY = 808466521  # the fourcc "Y800"
_ZBAR_GS1 = 1  # bit 0 of zbar_symbol_get_modifiers: FNC1 in first position
# pyzbar.decode drops the modifiers, the only place zbar says a symbol is GS1.
_zbar_symbol_get_modifiers = zbar.zbar_function(
    "zbar_symbol_get_modifiers", c_uint, POINTER(zbar.zbar_symbol)
)


def _read_zbar(image: Image.Image) -> list[Decoded]:
    """The symbols zbar (through pyzbar's ctypes binding) finds in a grey image."""
    pixels = image.tobytes()
    scanner = zbar.zbar_image_scanner_create()
    frame = zbar.zbar_image_create()
    found = []
    try:
        # Symbology NONE stands for all of them: off, then on again for the ones we name.
        enable = zbar.ZBarConfig.CFG_ENABLE
        zbar.zbar_image_scanner_set_config(scanner, zbar.ZBarSymbol.NONE, enable, 0)
        for symbology in _ZBAR:
            zbar.zbar_image_scanner_set_config(scanner, symbology, enable, 1)
        zbar.zbar_image_set_format(frame, _ZBAR_GREY)
        zbar.zbar_image_set_size(frame, image.width, image.height)
        zbar.zbar_image_set_data(frame, pixels, len(pixels), None)
        zbar.zbar_scan_image(scanner, frame)
        symbol = zbar.zbar_image_first_symbol(frame)
        while symbol:
            name, aim = _ZBAR[zbar.ZBarSymbol(symbol.contents.type)]
            data = string_at(
                zbar.zbar_symbol_get_data(symbol), zbar.zbar_symbol_get_data_length(symbol)
            )
            text = data.decode("utf-8", "replace")
            if aim and _zbar_symbol_get_modifiers(symbol) & _ZBAR_GS1:
                text = aim + text
            found.append(Decoded(name, text))
            symbol = zbar.zbar_symbol_next(symbol)
    finally:
        zbar.zbar_image_destroy(frame)
        zbar.zbar_image_scanner_destroy(scanner)
    return found


View = Callable[[Image.Image], Image.Image]
Reader = Callable[[Image.Image], list[Decoded]]


def _equalized(image: Image.Image) -> Image.Image:
    """Histogram-equalized: dim, low-contrast and unevenly lit codes spread to black and white."""
    return ImageOps.equalize(image)


def _thresholded(image: Image.Image) -> Image.Image:
    """Black where darker than the neighbourhood's mean, white elsewhere: blurred bars
    still differ from their surroundings, if not from a global threshold."""
    mean = image.filter(ImageFilter.BoxBlur(12))
    darker = ImageChops.subtract(mean, image, scale=1, offset=128)
    return darker.point(lambda v: 0 if v > 134 else 255)


def _halved(image: Image.Image) -> Image.Image:
    """Half the size: each pixel the mean of four, so sensor noise is halved too."""
    return image.reduce(2)


def _enlarged(image: Image.Image) -> Image.Image:
    """Twice the size, for codes whose modules are barely a pixel wide."""
    return image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)


# The attempts, in order, each a view of the photo and the readers to run on it; the first
# attempt that finds anything ends the search. Chosen by measurement: tests/bench/
# bench_decode.py orders --per 20, seeds 1 and 2, 400 hard 1280x720 photos in all, read of
# 400 / median / p90 time per photo (a plain photo takes about the median):
#   pyzbar alone 293, 15 ms, 114 ms; zxing-cpp alone 356, 12 ms, 90 ms;
#   zxing-cpp, then pyzbar if it found nothing: 369, 12.6 ms, 90 ms;
#   pyzbar, then zxing-cpp: the same 368 but 15.5 ms, 114 ms; both always: 369, 25 ms, 200 ms;
#   on the photo as it is rather than equalized: 346.
# pyzbar reads some blurred and small linear codes zxing-cpp misses; zxing-cpp reads the
# rest of what pyzbar does, faster, and DataMatrix, PDF417 and Aztec, which pyzbar cannot.
# A third try on a copy, zxing-cpp only, added: sharpened 2, smoothed 3, halved 6,
# thresholded 8, enlarged 9. Thresholded and enlarged together read 383, and halved
# between them 385 (also 197 against 194 of 200 at the default seed). All five: median
# 12.5 ms, p90 94 ms; a photo with nothing to find costs every try, about 100 ms, and up
# to 0.6 s when noisy.
_ATTEMPTS: tuple[tuple[View, tuple[Reader, ...]], ...] = (
    (_equalized, (_read_zxing,)),
    (_equalized, (_read_zbar,)),
    (_thresholded, (_read_zxing,)),
    (_halved, (_read_zxing,)),
    (_enlarged, (_read_zxing,)),
)


def _find(
    image: Image.Image, attempts: tuple[tuple[View, tuple[Reader, ...]], ...] = _ATTEMPTS
) -> list[Decoded]:
    """The symbols in a loaded grey image, each (symbology, text) once, in the order found."""
    views: dict[View, Image.Image] = {}
    for view, readers in attempts:
        if view not in views:
            views[view] = view(image)
        seen = views[view]
        found: dict[Decoded, None] = {}
        for reader in readers:
            try:
                found.update(dict.fromkeys(reader(seen)))
            except Exception:
                # A reader that fails on this picture has found nothing in it; the other
                # may still read it. Logged, so that a failing library does not go unseen.
                log.exception("%s failed on a %dx%d image", reader.__name__, *seen.size)
        if found:
            return list(found)
    return []


def decode_image(data: bytes, limits: DecodeLimits = DecodeLimits()) -> list[Decoded]:
    """The barcodes in an uploaded photo, [] if none; raises ImageError, and only that."""
    return _find(_load(data, limits))
