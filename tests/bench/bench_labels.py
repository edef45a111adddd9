"""Shipping labels rendered per second on one core, as ZPL and as PDF.

    .venv/bin/python -m tests.bench.bench_labels
    .venv/bin/python -m tests.bench.bench_labels --zpl 20000 --pdf 2000 --dpi 300

Labels with varied data (names in Latin, Polish, Greek, Cyrillic, Japanese and hostile ones,
trackings of UPS, USPS, FedEx and postal shapes, weights, 1 to 9 cartons) are made first;
then each is rendered in turn in this one process. The first PDF (which loads the fonts) is
left out of the timing and reported on its own. Targets: at least 2,000 ZPL labels/s and
at least 100 PDF labels/s.
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections.abc import Callable
from decimal import Decimal

from labels.shipping import Address, ShippingLabel, to_pdf, to_zpl
from labels.sscc import sscc

TARGETS = {"ZPL": 2000, "PDF": 100}
NAMES = ["Jane Doe", "Zoë Saldaña", "Łukasz Żółć", "Ἀλέξανδρος Παπαδόπουλος", "Анна Иванова",
         "山田 太郎", "O'Brien & Sons, Ltd.", "^XA^FO0,0^FDHACK^FS^XZ", "~JR ~JA",
         "Maximilian Alexander von Hohenzollern-Sigmaringen"]  # fmt: skip
CITIES = [("Springfield", "IL", "62701", "US"), ("Łódź", "", "90-001", "PL"),
          ("東京都", "", "100-0001", "JP"), ("Αθήνα", "", "105 57", "GR")]  # fmt: skip


SHIP_FROM = Address("Demo Warehouse", "1 Dock Road", "", "Springfield", "IL", "62701", "US")


def tracking(rng: random.Random) -> str:
    shape = rng.randrange(4)
    if shape == 0:  # UPS
        return "1Z" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))
    if shape == 1:  # USPS
        return "94" + "".join(rng.choices(string.digits, k=20))
    if shape == 2:  # FedEx
        return "".join(rng.choices(string.digits, k=12))
    return "".join(rng.choices(string.ascii_uppercase, k=2)) + f"{rng.randrange(10**9):09d}GB"


def make_labels(count: int, rng: random.Random) -> list[ShippingLabel]:
    labels = []
    for _ in range(count):
        city, region, postal_code, country = rng.choice(CITIES)
        street = f"{rng.randint(1, 999)} Main Street"
        street2 = rng.choice(["", "Apt 4B", "c/o Reception"])
        cartons = rng.randint(1, 9)
        labels.append(
            ShippingLabel(
                ship_from=SHIP_FROM,
                ship_to=Address(
                    rng.choice(NAMES), street, street2, city, region, postal_code, country
                ),
                order_ref=f"ORD-{rng.randrange(10**10):010d}",
                channel=rng.choice(["web", "amazon", "ebay", "shopify"]),
                carton_no=rng.randint(1, cartons),
                cartons=cartons,
                weight_kg=Decimal(rng.randint(50, 30_000)) / 1000,
                tracking=tracking(rng),
                sscc=sscc("0614141", rng.randrange(10**9), rng.randrange(10)),
            )
        )
    return labels


def rate(kind: str, render: Callable[[ShippingLabel], object], labels: list[ShippingLabel]) -> None:
    started = time.perf_counter()
    for label in labels:
        render(label)
    elapsed = time.perf_counter() - started
    per_second = len(labels) / elapsed
    verdict = "ok" if per_second >= TARGETS[kind] else "BELOW TARGET"
    print(
        f"  {kind}: {len(labels)} labels in {elapsed:.2f} s, {per_second:,.0f} labels/s, "
        f"{elapsed / len(labels) * 1000:.2f} ms each ({verdict}: target {TARGETS[kind]:,}/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--zpl", type=int, default=5000, help="ZPL labels to render")
    parser.add_argument("--pdf", type=int, default=500, help="PDF labels to render")
    parser.add_argument("--dpi", type=int, default=203, choices=[203, 300])
    parser.add_argument("--seed", type=int, default=1983)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    labels = make_labels(max(args.zpl, args.pdf) + 1, rng)
    started = time.perf_counter()
    to_pdf(labels[-1], args.dpi)
    print(f"first PDF, fonts loaded: {(time.perf_counter() - started) * 1000:.0f} ms")
    print(f"4x6 in shipping labels at {args.dpi} dpi, one core:")
    rate("ZPL", lambda label: to_zpl(label, args.dpi), labels[: args.zpl])
    rate("PDF", lambda label: to_pdf(label, args.dpi), labels[: args.pdf])


if __name__ == "__main__":
    main()
