"""Numbered internal codes, such as an order's "O00001234": written from a number and read
back, both by the shape of one configured pattern, so that what the service prints is what a
scan of it reads.

A numbered pattern is a fixed text, a run of digits (`[0-9]{8}`, `\\d{6,10}` or `[0-9]{8,}`)
and a fixed text, the fixed parts not all digits (a code of digits only reads as a GTIN); a
pattern of another shape cannot be written and is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Text without regular-expression syntax, or with it escaped ("\-").
_FIXED = r"(?:[^\\\[\](){}.*+?^$|]|\\[^A-Za-z0-9])*"
_SHAPE = re.compile(
    rf"(?P<prefix>{_FIXED})(?:\[0-9\]|\\d)"
    rf"\{{(?P<least>[0-9]+)(?P<range>,(?P<most>[0-9]*))?\}}(?P<suffix>{_FIXED})"
)


@dataclass(frozen=True)
class NumberedCode:
    """A fixed prefix, at least `least` (at most `most`) digits, and a fixed suffix."""

    prefix: str
    least: int
    most: int | None
    suffix: str

    def write(self, number: int) -> str:
        """The code of a number, its digits zero-padded; ValueError when it does not fit."""
        digits = f"{number:0{self.least}d}"
        if number < 0 or (self.most is not None and len(digits) > self.most):
            raise ValueError(f"{number} does not fit a code of {self.most} digits")
        return f"{self.prefix}{digits}{self.suffix}"

    def read(self, text: str) -> int | None:
        """The number a code of this shape carries; None for text of another shape."""
        if not (text.startswith(self.prefix) and text.endswith(self.suffix)):
            return None
        digits = text[len(self.prefix) : len(text) - len(self.suffix)]
        fits = self.least <= len(digits) and (self.most is None or len(digits) <= self.most)
        if not (fits and digits.isascii() and digits.isdigit()):
            return None
        return int(digits)


def numbered_code(pattern: str) -> NumberedCode:
    """The shape of a numbered pattern; ValueError for a pattern of another shape."""
    match = _SHAPE.fullmatch(pattern)
    if match is None:
        raise ValueError(
            "a numbered code is a fixed text, a run of digits and a fixed text, such as O[0-9]{8}"
        )
    least = int(match["least"])
    most = None if match["range"] else least
    if match["range"] and match["most"]:
        most = int(match["most"])
    if least < 1 or (most is not None and most < least):
        raise ValueError(f"{pattern}: the digits' count is out of order")
    unescape = re.compile(r"\\(.)")
    prefix, suffix = unescape.sub(r"\1", match["prefix"]), unescape.sub(r"\1", match["suffix"])
    if (prefix + suffix).isdigit() or not prefix + suffix:
        # All digits, it would be read as a product's GTIN.
        raise ValueError(f"{pattern}: a numbered code needs a fixed text that is not all digits")
    return NumberedCode(prefix, least, most, suffix)
