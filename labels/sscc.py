"""SSCCs: the 18-digit Serial Shipping Container Code that names one carton or pallet.

An SSCC is an extension digit, the GS1 company prefix (7 to 10 digits), a serial reference
filling the rest of 17 digits, and the GS1 mod-10 check digit (GS1 General Specifications
2.2.1): company prefix 0614141, extension 1 and serial 234567890 give 106141412345678908.
"""

from __future__ import annotations

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.sscc import Sscc

from labels.barcodes import LabelError

LENGTH = 18


def sscc(company_prefix: str, serial: int, extension: int = 0) -> str:
    """The SSCC of a serial number under a GS1 company prefix; raises LabelError (a ValueError)."""
    if not (
        company_prefix.isascii() and company_prefix.isdigit() and 7 <= len(company_prefix) <= 10
    ):
        raise LabelError(
            "bad_company_prefix",
            f"A GS1 company prefix is 7 to 10 digits, not {company_prefix!r}.",
        )
    if not 0 <= extension <= 9:
        raise LabelError("bad_extension", f"The extension digit is 0 to 9, not {extension}.")
    room = LENGTH - 2 - len(company_prefix)  # less the extension and check digits
    if not 0 <= serial < 10**room:
        raise LabelError(
            "serial_out_of_range",
            f"With a {len(company_prefix)}-digit company prefix the serial reference is "
            f"0 to {10**room - 1}, not {serial}.",
        )
    payload = f"{extension}{company_prefix}{serial:0{room}d}"
    return payload + str(gs1_standard_check_digit(payload))


def sscc_text(code: str) -> str:
    """The human-readable SSCC printed under its barcode, "(00) 1 0614141 234567890 8"."""
    try:
        # biip knows the company prefix's length from GS1's prefix table, where it is listed.
        return "(00) " + Sscc.parse(code).as_hri()
    except ParseError as exc:
        raise LabelError("bad_sscc", f"{code!r} is not an SSCC: {exc}") from None
