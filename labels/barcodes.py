"""Code 128 as the labels print it, in ZPL and in PDFs, and the one error labels raise.

A printed bar is a whole number of printer dots wide, and every symbol keeps a quiet zone of
at least 10 modules on each side (ISO/IEC 15417; GS1 asks the same of GS1-128).

In ZPL a symbol is written in one code set from start to stop: C when the data is an even
number of digits, B otherwise, with explicit start codes (>; and >:). Its width is then plain
arithmetic, checked before the label is sent, and no printer or renderer has to get subset
switching right (the zebrash renderer the tests use, 1.38, writes FNC4 for >5). It costs some
width on mixed data such as UPS's 1Z numbers, which still fit a 4 in label at 3 dots a module.
PDFs use reportlab's Code128, which switches code sets itself; its symbol is never longer.
"""

from __future__ import annotations

from typing import TypeVar

from reportlab.graphics.barcode.code128 import Code128

QUIET_ZONE = 10  # modules of clear space on each side of a symbol
CHARACTER = 11  # modules of one Code 128 symbol character: start, data, FNC1, check digit
STOP = 13  # modules of the stop pattern
MAX_LENGTH = 48  # data characters; GS1 sets this for GS1-128, and no label has room for more
# reportlab writes "\xf1" as FNC1 (its code128.py reads \xf1 to \xf4 as FNC1 to FNC4).
REPORTLAB_FNC1 = "\xf1"
# In ZPL ^BC field data ">" starts an invocation code, and "^" and "~" would start commands;
# these invocation codes stand for the three characters in code set B (ZPL manual, ^BC).
_ZPL_SET_B = {">": ">0", "^": "><", "~": ">=", "_": "_5F"}  # "_" is ^FH's hex indicator


class LabelError(ValueError):
    """A label that cannot be made; `code` names why, the message says it to a person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def check_code128(data: str, what: str) -> None:
    """Refuse data Code 128 cannot carry as text: empty, too long, or not printable ASCII."""
    if not data:
        raise LabelError("empty_barcode", f"The {what} is empty.")
    if len(data) > MAX_LENGTH:
        raise LabelError("barcode_too_long", f"The {what} is longer than {MAX_LENGTH} characters.")
    if not all(" " <= c <= "~" for c in data):
        raise LabelError(
            "not_ascii", f"The {what} {data!r} has characters a Code 128 barcode cannot carry."
        )


def zpl_code128(data: str, *, gs1: bool = False) -> tuple[str, int]:
    """The ^FD data (for a ^FH field) of a Code 128 symbol of `data`, and its width in modules.

    With gs1 the symbol is GS1-128: FNC1 (>8) right after the start code marks its data as
    GS1 element strings, and a scanner sends it with the AIM identifier ]C1."""
    check_code128(data, "barcode data")
    fnc1 = ">8" if gs1 else ""
    if data.isdigit() and len(data) % 2 == 0:
        start, encoded, length = ">;", data, len(data) // 2
    else:
        start, encoded, length = ">:", "".join(_ZPL_SET_B.get(c, c) for c in data), len(data)
    characters = 1 + int(gs1) + length + 1  # start, FNC1, data, check digit
    return start + fnc1 + encoded, characters * CHARACTER + STOP


Width = TypeVar("Width", int, float)


def fit_module(modules: int, room: Width, choices: tuple[Width, ...], what: str) -> Width:
    """The first module width of `choices` at which the symbol and its quiet zones fit in `room`."""
    for module in choices:
        if (modules + 2 * QUIET_ZONE) * module <= room:
            return module
    raise LabelError("barcode_too_long", f"The {what} is too long for a barcode on this label.")


def pdf_code128(data: str, *, module: float, height: float, gs1: bool = False) -> Code128:
    """reportlab's Code 128 of `data` without quiet zones (the caller leaves them), in points."""
    check_code128(data, "barcode data")
    value = REPORTLAB_FNC1 + data if gs1 else data
    return Code128(value, barWidth=module, barHeight=height, quiet=0, humanReadable=0)


def pdf_modules(data: str, *, gs1: bool = False) -> int:
    """The width in modules of reportlab's Code 128 symbol of `data`."""
    return round(pdf_code128(data, module=1, height=1, gs1=gs1).width)
