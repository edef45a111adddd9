"""A carrier's own shipping label, checked before it is stored: a whole PDF or a whole ZPL
document and nothing else, and the carrier's tracking number that its barcode scans as.

A label that is not what it claims would be found out only at the printer (a PNG sent raw to
a Zebra prints garbage; a PDF cut short prints nothing), after the integration that sent it
has gone; so it is refused at once. A PDF starts with "%PDF-" and, whole, ends with a trailer
("startxref", then "%%EOF"). ZPL is UTF-8 text of one or more formats, each ^XA to ^XZ: what a
printer ignores outside them could be anything, so nothing but white space may be there.

Nor may a carrier's ZPL reach past its label into the printer: ZPL also resets printers,
saves settings, changes network addresses and passwords, stores and deletes files. So a
carrier label may hold only the commands that draw a label (an allow-list drawn from the ZPL II
Programming Guide); every ^ and ~ starts a command, in field data too, as on the printer.
Commands that change the ^ and ~ themselves (^CC, ~CC, ^CT, ~CT) are refused like the rest,
so what follows them is read as the printer would read it.
"""

from __future__ import annotations

import re

from labels.barcodes import MAX_LENGTH, LabelError, fit_module, zpl_code128
from labels.printers import LabelFormat
from labels.shipping import TRACKING_MODULES, WIDTH_IN

MAX_BYTES = 2 * 1024 * 1024
# As many characters as a Code 128 barcode carries (GS1's limit).
MAX_TRACKING = MAX_LENGTH
# The trailer, "startxref", its offset and "%%EOF", stands in the last bytes of a whole PDF.
_PDF_TAIL = 1024
# What a mistaken upload most often is, by its first bytes, to say so in the refusal.
_LOOKS_LIKE = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"<", "HTML or XML"),
    (b"{", "JSON"),
)


# The commands that draw a label: the format's bounds, fields and their data, text, graphics,
# bar codes (^B and one character: ^BC, ^BQ, ...; ^BY their defaults), fonts (^A and the
# font's name: ^A0, ^AB, ^A@), and the label's own size, place, orientation, darkness, speed
# and copies. Also ^XG, ^IL and ^IM, which only read a stored image into the label.
_DRAWING = frozenset(
    {
        "^XA", "^XZ", "^XB", "^XG", "^IL", "^IM",
        "^FO", "^FT", "^FD", "^FS", "^FB", "^FC", "^FH", "^FM", "^FN", "^FP", "^FR", "^FV",
        "^FW", "^FX",
        "^GB", "^GC", "^GD", "^GE", "^GF", "^GS",
        "^CF", "^CI", "^CV", "^CW",
        "^LH", "^LL", "^LR", "^LS", "^LT",
        "^PW", "^PO", "^PM", "^PQ", "^PR", "^PA", "^MD", "^MM",
        "^SN", "^SF", "^TB",
    }
)  # fmt: skip
_DRAWING_FAMILIES = ("^A", "^B")
# What the refused commands a carrier label is most likely to slip in would do, by prefix
# (the first that fits), to say so in the refusal.
_WOULD = (
    ("~JR", "resets the printer"),
    ("^JU", "saves, or throws away, the printer's settings"),
    ("^CC", "changes the command character, hiding the commands after it"),
    ("~CC", "changes the command character, hiding the commands after it"),
    ("^CT", "changes the command character, hiding the commands after it"),
    ("~CT", "changes the command character, hiding the commands after it"),
    ("^CD", "changes how the printer reads the commands after it"),
    ("~CD", "changes how the printer reads the commands after it"),
    ("^N", "changes the printer's network settings"),
    ("~N", "changes the printer's network settings"),
    ("~W", "changes the printer's network settings"),
    ("^KN", "renames the printer"),
    ("^KP", "changes the printer's password"),
    ("~D", "stores a file in the printer's memory"),
    ("^D", "stores a file in the printer's memory"),
    ("^ID", "deletes files from the printer's memory"),
    ("~EG", "deletes graphics from the printer's memory"),
    ("^EG", "deletes graphics from the printer's memory"),
    ("^IS", "stores a file in the printer's memory"),
    ("^S", "changes the printer's settings"),
    ("^J", "changes the printer's settings"),
    ("~J", "changes the printer's settings"),
    ("~", "acts on the printer itself, not on a label"),
)
# A command: its ^ or ~ and the two characters of its code (fewer where the next ^ or ~ or
# the end comes first).
_COMMAND = re.compile(r"[\^~][^\^~]{0,2}")


def _refuse(message: str) -> LabelError:
    return LabelError("not_a_label", message)


def format_of(document: bytes) -> LabelFormat:
    """The format a document's first bytes claim: pdf for "%PDF-", zpl for anything else."""
    return LabelFormat.PDF if document.startswith(b"%PDF-") else LabelFormat.ZPL


def _what(document: bytes) -> str:
    start = document.lstrip()[:8]
    return next((name for magic, name in _LOOKS_LIKE if start.startswith(magic)), "")


def check_label(document: bytes, format: str) -> None:
    """Refuse (LabelError "not_a_label") what is not one whole carrier label in `format`."""
    if format not in tuple(LabelFormat):
        raise _refuse(f"A carrier label is PDF or ZPL, not {format!r}.")
    if not document.strip():
        raise _refuse("The label is empty.")
    if len(document) > MAX_BYTES:
        raise _refuse(f"The label is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    what = _what(document)
    if what:
        raise _refuse(f"This is {what}, not a {format.upper()} label.")
    if format == LabelFormat.PDF:
        _check_pdf(document)
    else:
        _check_zpl(document)


def _check_pdf(document: bytes) -> None:
    if not document.startswith(b"%PDF-"):
        raise _refuse("This is not a PDF: a PDF starts with %PDF-.")
    # PDF counts NUL as white space too.
    tail = document.rstrip(b" \t\r\n\f\0")[-_PDF_TAIL:]
    if not tail.endswith(b"%%EOF") or b"startxref" not in tail:
        raise _refuse("The PDF is cut short: it does not end with its trailer and %%EOF.")


def _check_zpl(document: bytes) -> None:
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise _refuse(f"This is not ZPL: byte {bad.start} is not UTF-8 text.") from None
    control = next(
        (c for c in text if (c < " " and c not in "\t\r\n") or "\x7f" <= c <= "\x9f"), ""
    )
    if control:
        raise _refuse(f"This is not ZPL: it holds the control character U+{ord(control):04X}.")
    _check_commands(text)
    at, printed = 0, False
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            break
        if not text.startswith("^XA", at):
            raise _refuse(
                f"This is not ZPL: {text[at : at + 20]!r} stands outside a ^XA...^XZ format."
            )
        end = text.find("^XZ", at + 3)
        reopened = text.find("^XA", at + 3)
        if end < 0 or 0 <= reopened < end:
            raise _refuse("The ZPL is cut short: a ^XA format is not closed by ^XZ.")
        printed = printed or bool(text[at + 3 : end].strip())
        at = end + 3
    if not printed:
        raise _refuse("The ZPL has no format that prints anything.")


def _check_commands(text: str) -> None:
    """Refuse a ZPL command that does anything but draw the label, naming it."""
    for found in _COMMAND.finditer(text):
        command = found[0]
        code = command.upper()
        named = len(code) == 3 and ((code[2].isascii() and code[2].isalnum()) or code == "^A@")
        if code in _DRAWING or (named and code.startswith(_DRAWING_FAMILIES)):
            continue
        would = next(
            (what for prefix, what in _WOULD if code.startswith(prefix)),
            "is not a command that draws a label",
        )
        raise _refuse(
            f"The label holds the printer command {command.strip()}, which "
            f"{would}: a carrier label may only draw a label."
        )


def check_tracking(tracking: str) -> None:
    """Refuse (LabelError) a tracking number that no carrier barcode scans as, or that the
    tracking barcode of the warehouse's own 4x6 label (at 203 and 300 dpi) cannot carry."""
    if not tracking:
        raise LabelError("empty_tracking", "The tracking number is empty.")
    if len(tracking) > MAX_TRACKING:
        raise LabelError(
            "tracking_too_long", f"A tracking number is at most {MAX_TRACKING} characters."
        )
    # Carriers' tracking barcodes carry these; a space or a control character is a slip in
    # copying the number, which would then never match the dock scan.
    if not all("!" <= c <= "~" for c in tracking):
        raise LabelError(
            "bad_tracking",
            "A tracking number is letters, digits and ASCII punctuation, without spaces "
            "or control characters.",
        )
    _, modules = zpl_code128(tracking)
    for dpi, widths in TRACKING_MODULES.items():
        try:
            fit_module(modules, WIDTH_IN * dpi, widths, "tracking number")
        except LabelError as bad:
            raise LabelError(
                bad.code,
                "The tracking number is too long for the tracking barcode of the warehouse's "
                "own 4x6 in label.",
            ) from None
