"""Photos of barcodes made in code, for the decoding tests and benchmark: render a symbol,
place it on a label in a 1280x720 frame lit like a phone photo, and make it harder to read.

GS1 symbols take their data as human-readable text, "(01)09501101020917(17)190508".
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from dataclasses import dataclass
from statistics import NormalDist

import barcode
import zxingcpp
from barcode.writer import ImageWriter
from biip.gs1_messages import GS1Message
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from scanners.read import ScanError, read_scan

FRAME = (1280, 720)
FNC1 = "\xf1"  # python-barcode's stand-in for FNC1 in GS1-128

# Rendered by python-barcode: our symbology name -> its name.
PYTHON_BARCODE = {
    "ean13": "ean13",
    "ean8": "ean8",
    "upca": "upca",
    "code128": "code128",
    "gs1_128": "gs1_128",
    "itf": "itf",
    "code39": "code39",
}
# Rendered by zxing-cpp: our symbology name -> (format, GS1 or not).
ZXING = {
    "datamatrix": (zxingcpp.BarcodeFormat.DataMatrix, False),
    "gs1_datamatrix": (zxingcpp.BarcodeFormat.DataMatrix, True),
    "qrcode": (zxingcpp.BarcodeFormat.QRCode, False),
    "gs1_qrcode": (zxingcpp.BarcodeFormat.QRCode, True),
    "pdf417": (zxingcpp.BarcodeFormat.PDF417, False),
    "aztec": (zxingcpp.BarcodeFormat.Aztec, False),
    "databar_expanded": (zxingcpp.BarcodeFormat.DataBarExp, True),
}

# One example of each, as the benchmark and the hard-photo tests use them.
SAMPLES = {
    "ean13": "4006381333931",
    "upca": "036000291452",
    "code128": "pick42tote7",
    "gs1_128": "(01)09501101020917(17)261231(10)LOT42A",
    "itf": "10614141000033",
    "gs1_datamatrix": "(01)09501101020917(17)261231(10)ABCD1234(21)SN0001",
    "qrcode": "https://example.com/p/12345",
    "pdf417": "SHIP TO ANN LEE 1 MAIN STREET",
}

DEGRADATIONS = (
    "clean",
    "blur",
    "rotate7",
    "rotate90",
    "rotate180",
    "noise",
    "low_contrast",
    "jpeg30",
    "exif_rotated",
    "small",
)


def gs1_element_strings(hri: str) -> str:
    """The element strings of "(01)...(10)..." with GS after each variable-length one."""
    return GS1Message.parse_hri(hri).value


def same_scan(raw: str, sample: str) -> bool:
    """True if read_scan reads `raw` (what a decoder found) as it reads `sample`: the same
    GTIN and GS1 data, or else the same text. `sample` may be "(01)..." for GS1."""
    try:
        got, want = read_scan(raw), read_scan(sample)
    except ScanError:
        return False
    if want.kind in ("gtin", "gs1", "sscc"):
        return (got.kind, got.gtin, got.gs1) == (want.kind, want.gtin, want.gs1)
    return (got.kind, got.text) == (want.kind, want.text)


def symbol(kind: str, text: str, module: int = 1) -> Image.Image:
    """A clean black-on-white symbol with its quiet zone, `module` pixels a module, mode L."""
    if kind in PYTHON_BARCODE:
        if kind == "gs1_128":
            text = gs1_element_strings(text).replace("\x1d", FNC1)
        # python-barcode counts in millimetres and draws in floats: at 254 dpi a 1 mm module
        # is exactly 10 pixels, which shrink to one without rounding.
        writer = ImageWriter(mode="L", dpi=254)
        options = {"module_width": 1.0, "module_height": 40.0, "quiet_zone": 10.0}
        extra = {"add_checksum": False} if kind == "code39" else {}
        code = barcode.get_barcode_class(PYTHON_BARCODE[kind])(text, writer=writer, **extra)
        image = code.render({**options, "write_text": False, "font_size": 0})
        image = image.resize((image.width // 10, image.height // 10), Image.Resampling.NEAREST)
    else:
        format_, gs1 = ZXING[kind]
        made = zxingcpp.create_barcode(text, format_, gs1=gs1)
        bitmap = made.to_image(scale=1)
        height, width = bitmap.shape[:2]
        image = Image.frombytes("L", (width, height), bytes(memoryview(bitmap)))
    return image.resize((image.width * module, image.height * module), Image.Resampling.NEAREST)


def _random_image(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Uniform random grey levels from rng (Pillow's effect_noise cannot be seeded)."""
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def photo(
    sym: Image.Image,
    rng: random.Random,
    module_px: float = 3.0,
    angle: float = 0.0,
    size: tuple[int, int] = FRAME,
) -> Image.Image:
    """The symbol (one pixel a module) on a white label, on an unevenly lit desk, in RGB."""
    scaled = sym.resize(
        (round(sym.width * module_px), round(sym.height * module_px)), Image.Resampling.BILINEAR
    )
    label = Image.new("L", (scaled.width + 40, scaled.height + 40), 235)
    label.paste(scaled, (20, 20))
    mask = Image.new("L", label.size, 255).rotate(angle, expand=True)
    label = label.rotate(angle, Image.Resampling.BILINEAR, expand=True)
    # A desk: smooth, uneven light from a few big blotches, and some boxes on it.
    desk = _random_image(rng, (8, 5)).resize(size, Image.Resampling.BICUBIC)
    desk = desk.point(lambda v: 60 + v // 2)
    draw = ImageDraw.Draw(desk)
    for _ in range(6):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle(
            (x, y, x + rng.randrange(40, 300), y + rng.randrange(20, 200)), rng.randrange(256)
        )
    x = rng.randrange(max(1, size[0] - label.width))
    y = rng.randrange(max(1, size[1] - label.height))
    desk.paste(label, (x, y), mask)
    shade = _random_image(rng, (4, 3)).resize(size, Image.Resampling.BICUBIC)
    desk = ImageChops.multiply(desk, shade.point(lambda v: 170 + v // 3))
    return Image.merge(
        "RGB", (desk, desk.point(lambda v: v * 97 // 100), desk.point(lambda v: v * 90 // 100))
    )


def blur(image: Image.Image, radius: float) -> Image.Image:
    """Out of focus."""
    return image.filter(ImageFilter.GaussianBlur(radius))


def noise(image: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    """Gaussian sensor noise of standard deviation sigma, the same on every channel."""
    normal = NormalDist(128, sigma)
    # Uniform levels through the normal's inverse CDF are normally distributed.
    table = [min(255, max(0, round(normal.inv_cdf((v + 0.5) / 256)))) for v in range(256)]
    grain = _random_image(rng, image.size).point(table).convert(image.mode)
    return ImageChops.add(image, grain, offset=-128)


def low_contrast(image: Image.Image, low: int = 100, high: int = 150) -> Image.Image:
    """Black and white squeezed into [low, high], as in dim light or through cling film."""
    return image.point(lambda v: low + v * (high - low) // 255)


def jpeg(image: Image.Image, quality: int = 85, orientation: int | None = None) -> bytes:
    """JPEG bytes. With an EXIF orientation (6 or 8), the pixels are stored turned, as a
    phone held sideways stores them, and the tag says how to turn them upright."""
    out = io.BytesIO()
    if orientation is None:
        image.save(out, "JPEG", quality=quality)
        return out.getvalue()
    stored = image.transpose(
        Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270
    )
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG in under a hundred bytes that says it is width x height one-bit pixels (its
    data holds one row): a decompression bomb, as long as only its header is read."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = zlib.compress(bytes(1 + (width + 7) // 8))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")


def hard_photo(
    kind: str, text: str, degradation: str, rng: random.Random, size: tuple[int, int] = FRAME
) -> bytes:
    """A JPEG photo (1280x720 unless told) of the symbol with one of DEGRADATIONS."""
    sym = symbol(kind, text)
    # A photo taken of the code fills a quarter to a half of the frame's width, and more
    # for a long code whose modules would otherwise be under 2 pixels (at 1280x720); a small
    # one leaves a module barely more than a pixel.
    zoom = size[0] / FRAME[0]
    module_px = size[0] * rng.uniform(0.25, 0.45) / sym.width
    module_px = min(10.0 * zoom, max(2.0 * zoom, module_px))
    if degradation == "small":
        module_px = rng.uniform(1.2, 1.6) * zoom
    # Nobody holds a phone perfectly level.
    angle = {"rotate7": 7.0, "rotate90": 90.0, "rotate180": 180.0}.get(degradation, 0.0)
    angle += rng.uniform(-2.0, 2.0)
    image = photo(sym, rng, module_px, angle, size)
    if degradation == "blur":
        image = blur(image, module_px * 0.5)
    elif degradation == "noise":
        image = noise(image, 25, rng)
    elif degradation == "low_contrast":
        image = low_contrast(image)
    quality = 30 if degradation == "jpeg30" else 85
    orientation = rng.choice((6, 8)) if degradation == "exif_rotated" else None
    return jpeg(image, quality, orientation)


@dataclass(frozen=True)
class HardPhoto:
    kind: str
    text: str
    degradation: str
    data: bytes


def hard_photos(
    per_degradation: int = 8,
    seed: int = 20240601,
    degradations: tuple[str, ...] = DEGRADATIONS,
    size: tuple[int, int] = FRAME,
) -> list[HardPhoto]:
    """Each degradation on `per_degradation` symbols taken in turn from SAMPLES; seeded."""
    rng = random.Random(seed)
    kinds = list(SAMPLES)
    out = []
    for degradation in degradations:
        for n in range(per_degradation):
            kind = kinds[n % len(kinds)]
            data = hard_photo(kind, SAMPLES[kind], degradation, rng, size)
            out.append(HardPhoto(kind, SAMPLES[kind], degradation, data))
    return out
