"""The 4x6 in shipping label of one carton: ZPL for a thermal printer, or one PDF page.

Both are drawn from one layout in printer dots: ship-from, ship-to, the order and its
channel, "carton n of m" and the weight, the carrier's tracking number as Code 128 and the
carton's SSCC as GS1-128 (lowest on the label, as GS1's logistic label puts it), each barcode
with its text under it.

Every text on a label comes from outside (customers, channels, carriers) and ZPL has no
quoting: a "^" or "~" in field data starts a command, so a customer named "^XA^FO0,0^FD..."
or "~JR" would draw on, or reset, the printer. Each field is therefore made printable (no
control characters) and written under ^FH, with "^", "~" and "_" (^FH's own indicator) as
hex escapes; no field block (^FB) is used, so "\\&" is text too. Text is UTF-8 under ^CI28;
a script prints where the printer's font has its glyphs (font 0 has Latin, Greek, Cyrillic).
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from reportlab.pdfgen.canvas import Canvas

from labels import text
from labels.barcodes import LabelError, check_code128, fit_module, pdf_code128, zpl_code128
from labels.sscc import sscc_text

WIDTH_IN, HEIGHT_IN = 4, 6
# Bar module widths in dots, widest first. The tracking number's follow the carriers' labels
# (about 0.375 mm); the SSCC's is GS1's minimum X-dimension for logistic labels, 0.495 mm.
TRACKING_MODULES = {203: (3, 2), 300: (4, 3)}
SSCC_MODULES = {203: (4,), 300: (6,)}
# ZPL escapes under ^FH: "^" and "~" start commands, "_" starts a hex escape.
_ZPL_ESCAPES = str.maketrans({"^": "_5E", "~": "_7E", "_": "_5F"})


@dataclass(frozen=True)
class Address:
    name: str
    street1: str
    street2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    def lines(self) -> list[str]:
        """The address as printable lines, name first, city, region and postal code as one."""
        region = " ".join(p for p in (self.region, self.postal_code) if p)
        city = ", ".join(p for p in (self.city, region) if p)
        values = (self.name, self.street1, self.street2, city, self.country)
        return [text.printable(value) for value in values]


@dataclass(frozen=True, kw_only=True)
class ShippingLabel:
    """One carton's label: `carton_no` of `cartons`, `sscc` its 18-digit SSCC."""

    ship_from: Address
    ship_to: Address
    order_ref: str
    channel: str
    carton_no: int
    cartons: int
    weight_kg: Decimal | float
    tracking: str
    sscc: str


@dataclass(frozen=True)
class _Text:
    x: int  # left edge, or the centre when `centred`
    y: int  # top
    size: int  # character height, dots
    room: int  # the widest it may be, dots
    text: str
    bold: bool = False
    centred: bool = False


@dataclass(frozen=True)
class _Rule:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class _Bars:
    x: int  # left edge of the first bar; the quiet zone lies left of it
    y: int
    module: int
    height: int
    data: str
    gs1: bool
    zpl: str  # the ^FD data: data with its start code, FNC1 and escapes


def _zpl_width(line: str, size: int) -> float:
    """About how wide ZPL font 0 sets `line`, in dots (it is proportional: about 0.5 of its
    height for a digit, 0.8 for M or W; East Asian wide characters a full height)."""
    return size * sum(
        1.0 if unicodedata.east_asian_width(c) in "WF"
        else 0.5 if c.isdigit() or c == " "
        else 0.8 if c in "MWmw@%"
        else 0.62
        for c in line
    )  # fmt: skip


def _fit(line: str, size: int, room: int) -> str:
    """The line cut, with "...", to fit `room` dots."""
    line = text.printable(line)[: 2 * room // size + 1]
    if _zpl_width(line, size) <= room:
        return line
    while line and _zpl_width(line + "...", size) > room:
        line = line[:-1]
    return line.rstrip() + "..."


def _lines(address: Address) -> list[str]:
    """The address's lines, empty ones last: they leave no gap, and every label has the same
    fields, so the same ZPL commands, whatever its addresses hold."""
    return sorted(address.lines(), key=lambda line: not line)


def _check(label: ShippingLabel, dpi: int) -> None:
    if dpi not in TRACKING_MODULES:
        raise LabelError("bad_dpi", f"Labels are made for 203 or 300 dpi printers, not {dpi}.")
    if not 1 <= label.carton_no <= label.cartons:
        raise LabelError(
            "bad_carton", f"Carton {label.carton_no} of {label.cartons} is not a carton."
        )
    if not 0 <= float(label.weight_kg) < 100_000:
        raise LabelError("bad_weight", f"{label.weight_kg} kg is not a carton's weight.")
    check_code128(label.tracking, "tracking number")


def _layout(label: ShippingLabel, dpi: int) -> list[_Text | _Rule | _Bars]:
    """What the label shows and where, in dots at `dpi`; positions are set for 203 dpi and
    scaled, bar modules are whole dots chosen for `dpi`."""
    _check(label, dpi)
    sscc_line = sscc_text(label.sscc)
    width = WIDTH_IN * dpi

    def d(value: float) -> int:
        return round(value * dpi / 203)

    def line(x: float, y: float, size: float, room: float, value: str, bold: bool = False) -> _Text:
        return _Text(d(x), d(y), d(size), d(room), _fit(value, d(size), d(room)), bold)

    def rule(y: float) -> _Rule:
        return _Rule(d(24), d(y), d(764), d(3))

    def bars(y: float, height: float, data: str, gs1: bool, modules: tuple[int, ...]) -> _Bars:
        encoded, length = zpl_code128(data, gs1=gs1)
        what = "SSCC" if gs1 else "tracking number"
        module = fit_module(length, width, modules, what)
        x = (width - length * module) // 2
        return _Bars(x, d(y), module, d(height), data, gs1, encoded)

    def under(y: float, value: str) -> _Text:
        return _Text(width // 2, d(y), d(30), d(764), _fit(value, d(30), d(764)), centred=True)

    items: list[_Text | _Rule | _Bars] = [line(24, 20, 20, 440, "FROM")]
    for i, value in enumerate(_lines(label.ship_from)):
        items.append(line(24, 46 + 28 * i, 24, 440, value))
    items += [
        line(490, 20, 20, 298, "CARTON"),
        line(490, 46, 48, 298, f"{label.carton_no} OF {label.cartons}", bold=True),
        line(490, 110, 20, 298, "WEIGHT"),
        line(490, 136, 40, 298, f"{label.weight_kg:.2f} KG", bold=True),
        rule(192),
        line(24, 206, 22, 764, "SHIP TO"),
    ]
    name, *rest = _lines(label.ship_to)
    items.append(line(24, 236, 44, 764, name, bold=True))
    for i, value in enumerate(rest):
        items.append(line(24, 290 + 44 * i, 38, 764, value, bold=True))
    items += [
        rule(470),
        line(24, 484, 22, 130, "ORDER"),
        line(160, 480, 30, 628, label.order_ref, bold=True),
        line(24, 522, 22, 130, "CHANNEL"),
        line(160, 518, 30, 628, label.channel),
        rule(560),
        line(24, 574, 22, 764, "TRACKING"),
        bars(604, 190, label.tracking, False, TRACKING_MODULES[dpi]),
        under(802, label.tracking),
        rule(846),
        line(24, 860, 22, 764, "SSCC"),
        bars(890, 256, "00" + label.sscc, True, SSCC_MODULES[dpi]),
        under(1154, sscc_line),
    ]
    return items


def _zpl_field(value: str) -> str:
    """^FH^FD data for printable text: "^", "~" and "_" as hex escapes, nothing else changed."""
    return "^FH^FD" + value.translate(_ZPL_ESCAPES) + "^FS"


def to_zpl(label: ShippingLabel, dpi: int = 203) -> str:
    """The label as one ZPL format (^XA...^XZ) for a 203 or 300 dpi printer; send it as UTF-8."""
    out = ["^XA", "^CI28", f"^PW{WIDTH_IN * dpi}", f"^LL{HEIGHT_IN * dpi}", "^LH0,0"]
    for item in _layout(label, dpi):
        if isinstance(item, _Text):
            x = item.x - round(_zpl_width(item.text, item.size) / 2) if item.centred else item.x
            out.append(f"^FO{x},{item.y}^A0N,{item.size},{item.size}" + _zpl_field(item.text))
        elif isinstance(item, _Rule):
            thickness = min(item.width, item.height)
            out.append(f"^FO{item.x},{item.y}^GB{item.width},{item.height},{thickness}^FS")
        else:
            # ^FH applies to barcode data too: zpl_code128 writes "_" as _5F. The text under
            # the bars is a field of its own (f = N), as the ZPL manual shows for GS1-128.
            out.append(
                f"^FO{item.x},{item.y}^BY{item.module}^BCN,{item.height},N,N,N,N^FH^FD{item.zpl}^FS"
            )
    out.append("^XZ")
    return "\n".join(out) + "\n"


def to_pdf(label: ShippingLabel, dpi: int = 203) -> bytes:
    """The label as a one-page 4x6 in PDF, its bars whole dots of a `dpi` printer."""
    items = _layout(label, dpi)
    unit = 72 / dpi  # points per dot
    page_width, page_height = WIDTH_IN * 72, HEIGHT_IN * 72
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(page_width, page_height), invariant=True)
    for item in items:
        if isinstance(item, _Text):
            # ZPL's character height is about DejaVu's em; capitals stand 0.75 of it in both.
            value, size = text.fitted(item.text, item.size * unit, item.room * unit, item.bold)
            x = item.x * unit
            if item.centred:
                x -= text.width(value, size, item.bold) / 2
            baseline = page_height - (item.y + 0.75 * item.size) * unit
            text.draw(canvas, x, baseline, value, size, item.bold)
        elif isinstance(item, _Rule):
            top = page_height - item.y * unit
            canvas.rect(
                item.x * unit, top - item.height * unit, item.width * unit, item.height * unit,
                stroke=0, fill=1,
            )  # fmt: skip
        else:
            symbol = pdf_code128(
                item.data, module=item.module * unit, height=item.height * unit, gs1=item.gs1
            )
            symbol.drawOn(
                canvas, (page_width - symbol.width) / 2, page_height - (item.y + item.height) * unit
            )
    canvas.showPage()
    canvas.save()
    return out.getvalue()
