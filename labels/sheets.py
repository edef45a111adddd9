"""Sheets of labels on A4 or Letter: bin locations, products and staff badges.

Each kind has a cell of a common size, as many to a page as fit, the grid centred on the
page: locations 99.1 x 38.1 mm (2 x 7 on A4), products 63.5 x 38.1 mm (3 x 7) and badges the
size of a payment card, 85.6 x 54 mm (2 x 5), with cutting lines. Every barcode keeps its
quiet zones inside its cell: 10 modules for Code 128, 11 left and 7 right for EAN-13.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from biip.checksums import gs1_standard_check_digit
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.eanbc import Ean13BarcodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from labels import text
from labels.barcodes import LabelError, fit_module, pdf_code128, pdf_modules

PAPERS = {"A4": A4, "Letter": LETTER}
PADDING = 4 * mm  # around text; a barcode's quiet zones may reach into it, to EDGE
EDGE = 1 * mm
# Bins are scanned from a step away: wide modules first. 0.19 mm is the least most scanners read.
LOCATION_MODULES = (0.5 * mm, 0.4 * mm, 0.33 * mm, 0.25 * mm)
MODULES = (0.33 * mm, 0.25 * mm, 0.19 * mm)
EAN13_MODULE = 0.33 * mm  # EAN-13 at 100% magnification
EAN13_QUIET = (11, 7)  # modules left and right (GS1 General Specifications)


@dataclass(frozen=True)
class LocationLabel:
    code: str
    zone: str = ""


@dataclass(frozen=True)
class ProductLabel:
    """A product: its EAN-13 barcode where it has one, else a Code 128 of its SKU."""

    sku: str
    name: str
    ean13: str | None = None


@dataclass(frozen=True)
class Badge:
    code: str
    name: str


Item = TypeVar("Item")
# Draws one item in the cell whose lower left corner is (x, y), of the cell's width and height.
Draw = Callable[[Canvas, Item, float, float, float, float], None]


def _sheet(
    items: Sequence[Item], paper: str, cell: tuple[float, float], draw: Draw[Item], cut: bool
) -> bytes:
    """The items drawn cell by cell, row by row, on as many pages as they need."""
    if paper not in PAPERS:
        raise LabelError("bad_paper", f"Sheets are printed on A4 or Letter, not {paper!r}.")
    page_width, page_height = PAPERS[paper]
    columns, rows = int(page_width // cell[0]), int(page_height // cell[1])
    left = (page_width - columns * cell[0]) / 2
    top = page_height - (page_height - rows * cell[1]) / 2
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(page_width, page_height), invariant=True)
    for start in range(0, len(items), columns * rows):
        for i, item in enumerate(items[start : start + columns * rows]):
            x = left + (i % columns) * cell[0]
            y = top - (i // columns + 1) * cell[1]
            if cut:
                canvas.setStrokeColor(colors.lightgrey)
                canvas.setLineWidth(0.3)
                canvas.rect(x, y, cell[0], cell[1], stroke=1, fill=0)
            draw(canvas, item, x, y, cell[0], cell[1])
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _code128(
    canvas: Canvas, data: str, x: float, y: float, width: float, height: float,
    modules: tuple[float, ...], what: str,
) -> None:  # fmt: skip
    """A Code 128 symbol centred in the cell's width from x, its quiet zones inside the cell
    and clear of its EDGE (the padding is blank, so it may hold them)."""
    module = fit_module(pdf_modules(data), width - 2 * EDGE, modules, what)
    symbol = pdf_code128(data, module=module, height=height)
    symbol.drawOn(canvas, x + (width - symbol.width) / 2, y)


def _centred(
    canvas: Canvas, value: str, x: float, y: float, width: float, size: float, bold: bool = False
) -> None:
    line, size = text.fitted(text.printable(value), size, width, bold)
    text.draw(canvas, x + (width - text.width(line, size, bold)) / 2, y, line, size, bold)


def _location(canvas: Canvas, item: LocationLabel, x: float, y: float, w: float, h: float) -> None:
    inner = w - 2 * PADDING
    _centred(canvas, item.code, x + PADDING, y + h - PADDING - 20, inner, 24, bold=True)
    if item.zone:
        _centred(canvas, item.zone, x + PADDING, y + h - PADDING - 31, inner, 8)
    _code128(canvas, item.code, x, y + PADDING, w, 15 * mm,
             LOCATION_MODULES, f"location {item.code!r}")  # fmt: skip


def _ean13(canvas: Canvas, ean13: str, x: float, y: float, width: float, height: float) -> None:
    """The EAN-13 centred in the width from x, its digits under it, its quiet zones inside."""
    digits = len(ean13) == 13 and ean13.isascii() and ean13.isdigit()
    if not digits or int(ean13[-1]) != gs1_standard_check_digit(ean13[:-1]):
        raise LabelError("bad_ean13", f"{ean13!r} is not an EAN-13 with a right check digit.")
    left, right = EAN13_QUIET
    # reportlab's own quiet zones are 9 modules each side: off, and kept here instead.
    symbol = Ean13BarcodeWidget(
        ean13[:12], barWidth=EAN13_MODULE, barHeight=height, quiet=0, fontSize=8
    )
    offset = x + (width - (left + 95 + right) * EAN13_MODULE) / 2 + left * EAN13_MODULE
    drawing = Drawing(symbol.width, height)
    drawing.add(symbol)
    renderPDF.draw(drawing, canvas, offset, y)


def _product(canvas: Canvas, item: ProductLabel, x: float, y: float, w: float, h: float) -> None:
    inner = w - 2 * PADDING
    _centred(canvas, item.name, x + PADDING, y + h - PADDING - 9, inner, 10, bold=True)
    _centred(canvas, item.sku, x + PADDING, y + h - PADDING - 20, inner, 8)
    if item.ean13:
        _ean13(canvas, item.ean13, x + PADDING, y + PADDING, inner, 17 * mm)
    else:
        _code128(canvas, item.sku, x, y + PADDING + 4 * mm, w, 13 * mm,
                 MODULES, f"SKU {item.sku!r}")  # fmt: skip


def _badge(canvas: Canvas, item: Badge, x: float, y: float, w: float, h: float) -> None:
    inner = w - 2 * PADDING
    _centred(canvas, item.name, x + PADDING, y + h - PADDING - 18, inner, 18, bold=True)
    _code128(canvas, item.code, x, y + PADDING + 5 * mm, w, 15 * mm,
             MODULES, f"badge {item.code!r}")  # fmt: skip
    _centred(canvas, item.code, x + PADDING, y + PADDING, inner, 9)


def locations_pdf(
    locations: Sequence[LocationLabel], paper: Literal["A4", "Letter"] = "A4"
) -> bytes:
    """Location labels: the bin code in large type over its Code 128."""
    return _sheet(locations, paper, (99.1 * mm, 38.1 * mm), _location, cut=False)


def products_pdf(products: Sequence[ProductLabel], paper: Literal["A4", "Letter"] = "A4") -> bytes:
    """Product labels: name, SKU, and the EAN-13 or else a Code 128 of the SKU."""
    return _sheet(products, paper, (63.5 * mm, 38.1 * mm), _product, cut=False)


def badges_pdf(badges: Sequence[Badge], paper: Literal["A4", "Letter"] = "A4") -> bytes:
    """Staff badges the size of a payment card: name, and the badge code as Code 128."""
    return _sheet(badges, paper, (85.6 * mm, 54 * mm), _badge, cut=True)
