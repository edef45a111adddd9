"""The packing slip that goes in a carton: ship-to, the order, its lines; A4 or Letter.

Every page carries the order's barcode (Code 128 of the warehouse's order code) in its
header, so a page that strays from the rest still finds its order; a long order flows onto
more pages, the lines' column heads repeated on each.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer, Table
from reportlab.platypus.tables import TableStyle

from labels import text
from labels.barcodes import (
    QUIET_ZONE,
    LabelError,
    check_code128,
    fit_module,
    pdf_code128,
    pdf_modules,
)
from labels.shipping import Address

PAPERS = {"A4": A4, "Letter": LETTER}
MARGIN = 15 * mm
HEADER = 42 * mm  # from the top of the page to the first line of the story
# Office printers: 0.33 mm is GS1's nominal module for retail codes; narrower for long codes.
MODULES = (0.33 * mm, 0.25 * mm, 0.19 * mm)


@dataclass(frozen=True)
class SlipLine:
    sku: str
    name: str
    qty: int


@dataclass(frozen=True, kw_only=True)
class PackingSlip:
    """What one order's slip shows; `order_code` is the warehouse's code its barcode carries,
    `order_ref` the channel's reference for the customer."""

    ship_from: Address
    ship_to: Address
    order_code: str
    order_ref: str
    channel: str
    lines: Sequence[SlipLine]


@cache
def _style(size: float, bold: bool = False) -> ParagraphStyle:
    return ParagraphStyle(
        f"slip-{size}-{bold}",
        fontName=text.font(text.BOLD if bold else text.REGULAR),
        fontSize=size,
        leading=size * 1.25,
    )


def _paragraph(value: str, size: float = 10, bold: bool = False) -> Paragraph:
    # markup() escapes: a product called "<font size=90>" is printed, not obeyed.
    return Paragraph(text.markup(text.printable(value), bold), _style(size, bold))


def _address(title: str, address: Address) -> list[Paragraph]:
    return [_paragraph(title, 8), *(_paragraph(line, 11) for line in address.lines() if line)]


def _header(slip: PackingSlip, canvas: Canvas, page: int, paper: tuple[float, float]) -> None:
    """The slip's head on each page: what it is, the order, and the order's barcode."""
    width, height = paper
    module = fit_module(pdf_modules(slip.order_code), width / 2 - MARGIN, MODULES, "order code")
    symbol = pdf_code128(slip.order_code, module=module, height=14 * mm)
    # The margin is the right quiet zone; the left one is kept clear of the text beside it.
    x = width - MARGIN - symbol.width
    symbol.drawOn(canvas, x, height - MARGIN - 14 * mm)
    code = text.printable(slip.order_code)
    text.draw(canvas, x + (symbol.width - text.width(code, 9)) / 2,
              height - MARGIN - 14 * mm - 11, code, 9)  # fmt: skip
    room = x - QUIET_ZONE * module - MARGIN
    top = height - MARGIN - 14
    for value, size, bold in (
        ("PACKING SLIP", 16, True),
        (f"Order {slip.order_ref}", 11, True),
        (f"Channel {slip.channel}", 10, False),
        (f"Page {page}", 9, False),
    ):
        line, fitted = text.fitted(text.printable(value), size, room, bold)
        text.draw(canvas, MARGIN, top, line, fitted, bold)
        top -= size * 1.5


def to_pdf(slip: PackingSlip, paper: Literal["A4", "Letter"] = "Letter") -> bytes:
    """The packing slip as a PDF on A4 or Letter, as many pages as its lines need."""
    check_code128(slip.order_code, "order code")
    if paper not in PAPERS:
        raise LabelError("bad_paper", f"Slips are printed on A4 or Letter, not {paper!r}.")
    if any(line.qty < 1 for line in slip.lines):
        raise LabelError("bad_quantity", "Every line on a slip has a quantity of 1 or more.")
    out = io.BytesIO()
    size = PAPERS[paper]
    document = BaseDocTemplate(
        out, pagesize=size, invariant=True, title="Packing slip",
        leftMargin=MARGIN, rightMargin=MARGIN, topMargin=HEADER, bottomMargin=MARGIN,
    )  # fmt: skip
    frame = Frame(MARGIN, MARGIN, size[0] - 2 * MARGIN, size[1] - HEADER - MARGIN, id="lines")
    document.addPageTemplates(
        PageTemplate(
            frames=[frame], onPage=lambda canvas, doc: _header(slip, canvas, doc.page, size)
        )
    )
    half = (size[0] - 2 * MARGIN) / 2
    addresses = Table(
        [[_address("SHIP TO", slip.ship_to), _address("FROM", slip.ship_from)]],
        colWidths=[half, half],
        style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)],
    )
    rows = [[_paragraph("SKU", 9, True), _paragraph("Item", 9, True), _paragraph("Qty", 9, True)]]
    rows += [
        [_paragraph(line.sku), _paragraph(line.name), _paragraph(str(line.qty))]
        for line in slip.lines
    ]
    total = sum(line.qty for line in slip.lines)
    rows.append(["", _paragraph("Total units", 10, True), _paragraph(str(total), 10, True)])
    lines = Table(
        rows,
        colWidths=[45 * mm, size[0] - 2 * MARGIN - 65 * mm, 20 * mm],
        repeatRows=1,
        style=TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, 0), 1, colors.black),
            ("LINEBELOW", (0, 1), (-1, -2), 0.25, colors.grey),
            ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
        ]),
    )  # fmt: skip
    document.build([addresses, Spacer(1, 8 * mm), lines])
    return out.getvalue()
