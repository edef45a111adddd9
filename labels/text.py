"""Text on labels: made printable, and set in PDFs in faces that have its glyphs, so that
Zoë, Łódź and 東京 print on every label and slip.

Text from outside (customers, channels, carriers) may hold anything; `printable` makes it
one line of characters that print, before any of it is measured, escaped or drawn.

PDF's standard fonts (Helvetica) carry Latin-1 only, so text is set in a TrueType face,
embedded (subset) in each PDF: DejaVu Sans (Debian fonts-dejavu-core: Latin, Greek,
Cyrillic, ...), or reportlab's own Vera (Latin-1) where DejaVu is missing. Characters the face
lacks, Chinese, Japanese and Korean above all, are set in Droid Sans Fallback (Debian
fonts-droid-fallback), or, without it, in a CID font that the PDF viewer or printer supplies.
"""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

REGULAR = "Labels"
BOLD = "Labels-Bold"
FALLBACK = "Labels-Fallback"

_SYSTEM = Path("/usr/share/fonts/truetype")
_REPORTLAB = Path(reportlab.__file__).parent / "fonts"
_FACES = {
    REGULAR: (_SYSTEM / "dejavu/DejaVuSans.ttf", _REPORTLAB / "Vera.ttf"),
    BOLD: (_SYSTEM / "dejavu/DejaVuSans-Bold.ttf", _REPORTLAB / "VeraBd.ttf"),
    FALLBACK: (_SYSTEM / "droid/DroidSansFallbackFull.ttf",),
}
_CID_FALLBACK = "HeiseiKakuGo-W5"  # Japanese gothic; its kanji cover most Chinese names too
# Control characters, lone surrogates (which UTF-8 cannot carry), private-use and unassigned
# code points: none prints as anything a person could read.
_UNPRINTABLE = frozenset({"Cc", "Cs", "Co", "Cn"})


def printable(text: str) -> str:
    """The text on one line: unprintable characters made spaces, runs of white space one space."""
    return " ".join(
        "".join(" " if unicodedata.category(c) in _UNPRINTABLE else c for c in text).split()
    )


@cache
def font(name: str) -> str:
    """The reportlab name of REGULAR, BOLD or FALLBACK, registered on first use."""
    path = next((path for path in _FACES[name] if path.exists()), None)
    if path is None:
        pdfmetrics.registerFont(UnicodeCIDFont(_CID_FALLBACK))
        return _CID_FALLBACK
    pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


@cache
def _glyphs(name: str) -> frozenset[int] | None:
    """The code points a registered face has glyphs for; None for a CID font (unknown here)."""
    face = pdfmetrics.getFont(font(name))
    return frozenset(face.face.charToGlyph) if isinstance(face, TTFont) else None


@lru_cache(maxsize=4096)
def runs(text: str, bold: bool = False) -> tuple[tuple[str, str], ...]:
    """The text cut into runs of (reportlab font name, characters), each set in a face that has
    its glyphs; a character no face has stays in the main face (and prints as a box)."""
    main = BOLD if bold else REGULAR
    cut: list[tuple[str, str]] = []
    for c in text:
        name = main
        if ord(c) not in (_glyphs(main) or ()):
            fallback = _glyphs(FALLBACK)
            name = FALLBACK if fallback is None or ord(c) in fallback else main
        if cut and cut[-1][0] == font(name):
            cut[-1] = (cut[-1][0], cut[-1][1] + c)
        else:
            cut.append((font(name), c))
    return tuple(cut)


def width(text: str, size: float, bold: bool = False) -> float:
    """The width of the text in points at `size`."""
    return sum(pdfmetrics.stringWidth(run, name, size) for name, run in runs(text, bold))


def fitted(text: str, size: float, room: float, bold: bool = False) -> tuple[str, float]:
    """The text and size to set it at in `room` points: down to 70% of `size`, then cut with "…"."""
    smallest = size * 0.7
    # No glyph is narrower than a fifth of its size: longer text cannot fit, so is cut at once.
    text = text[: int(room / (smallest * 0.2)) + 1]
    if width(text, smallest, bold) <= room:
        return text, min(size, size * room / max(width(text, size, bold), 1e-9))
    while text and width(text + "…", smallest, bold) > room:
        text = text[:-1]
    return text + "…", smallest


def draw(
    canvas: Canvas, x: float, baseline: float, line: str, size: float, bold: bool = False
) -> None:
    """Draw the line from (x, baseline) on the canvas, each run in its face."""
    for name, run in runs(line, bold):
        canvas.setFont(name, size)
        canvas.drawString(x, baseline, run)
        x += pdfmetrics.stringWidth(run, name, size)


def markup(text: str, bold: bool = False) -> str:
    """The text as platypus Paragraph markup: escaped (a name like "<b>" is text, not markup),
    with the characters the main face lacks wrapped in the fallback face."""
    main = font(BOLD if bold else REGULAR)
    return "".join(
        escape(run) if name == main else f'<font name="{name}">{escape(run)}</font>'
        for name, run in runs(text, bold)
    )
