"""Reading barcodes in photos: time per photo, share of hard photos read, decoder orders.

    .venv/bin/python -m tests.bench.bench_decode
    .venv/bin/python -m tests.bench.bench_decode orders --per 20 --seed 1

speed   1280x720 JPEGs with one barcode each (every symbology in tests.photos.SAMPLES, on a
        plain photo): median and p90 time of decode_image.
hard    1280x720 JPEGs, each with one of tests.photos.DEGRADATIONS: share read per
        degradation, and the ones missed.
orders  the same hard photos read with other orders and combinations of zxing-cpp and
        pyzbar, and with other second tries, against scanners.decode's choice.
work    12 MP photos (4032x3024) scaled to several work_pixels before decoding.

Photos are made from a fixed seed, so runs compare. This looks inside scanners.decode (its
private attempts) to try other orders through the same code.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence

from PIL import Image, ImageFilter

from scanners import decode
from scanners.decode import Decoded, DecodeLimits
from tests import photos

Attempts = tuple[tuple[decode.View, tuple[decode.Reader, ...]], ...]
ZXING, ZBAR = decode._read_zxing, decode._read_zbar
EQUALIZED, THRESHOLDED = decode._equalized, decode._thresholded
HALVED, ENLARGED = decode._halved, decode._enlarged
LIMITS = DecodeLimits()


def as_is(image: Image.Image) -> Image.Image:
    """The photo as loaded."""
    return image


def sharpened(image: Image.Image) -> Image.Image:
    """Unsharp-masked."""
    return image.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=3))


def smoothed(image: Image.Image) -> Image.Image:
    """Slightly blurred, against noise."""
    return image.filter(ImageFilter.GaussianBlur(1.2))


FIRST = ((EQUALIZED, (ZXING,)), (EQUALIZED, (ZBAR,)))
# Name -> attempts; the first is scanners.decode's own choice.
ORDERS: dict[str, Attempts] = {
    "chosen: equalized zxing, pyzbar; thresholded, halved, enlarged zxing": decode._ATTEMPTS,
    "zxing only (equalized)": ((EQUALIZED, (ZXING,)),),
    "pyzbar only (equalized)": ((EQUALIZED, (ZBAR,)),),
    "zxing, then pyzbar (equalized)": FIRST,
    "pyzbar, then zxing (equalized)": ((EQUALIZED, (ZBAR,)), (EQUALIZED, (ZXING,))),
    "both always (equalized)": ((EQUALIZED, (ZXING, ZBAR)),),
    "zxing, then pyzbar (as is)": ((as_is, (ZXING,)), (as_is, (ZBAR,))),
    "both always (as is)": ((as_is, (ZXING, ZBAR)),),
    "zxing, then pyzbar; then sharpened zxing": (*FIRST, (sharpened, (ZXING,))),
    "zxing, then pyzbar; then thresholded zxing": (*FIRST, (THRESHOLDED, (ZXING,))),
    "zxing, then pyzbar; then smoothed zxing": (*FIRST, (smoothed, (ZXING,))),
    "zxing, then pyzbar; then halved zxing": (*FIRST, (HALVED, (ZXING,))),
    "zxing, then pyzbar; then enlarged zxing": (*FIRST, (ENLARGED, (ZXING,))),
    "chosen, without halved": tuple(
        attempt for attempt in decode._ATTEMPTS if attempt[0] != HALVED
    ),
    "chosen, each try with both readers": tuple(
        (view, (ZXING, ZBAR)) for view, _ in decode._ATTEMPTS
    ),
}


def timed(
    data: bytes, attempts: Attempts = decode._ATTEMPTS, limits: DecodeLimits = LIMITS
) -> tuple[list[Decoded], float]:
    """What decode_image finds with these attempts, and the seconds it took."""
    started = time.perf_counter()
    found = decode._find(decode._load(data, limits), attempts)
    return found, time.perf_counter() - started


def read_right(found: list[Decoded], text: str) -> bool:
    """True if one of the symbols found reads, through read_scan, as the sample does."""
    return any(photos.same_scan(symbol.text, text) for symbol in found)


def ms(seconds: Sequence[float]) -> str:
    ordered = sorted(seconds)
    median = statistics.median(ordered) * 1000
    p90 = ordered[int(len(ordered) * 0.9)] * 1000
    return f"median {median:5.1f} ms, p90 {p90:6.1f} ms, max {ordered[-1] * 1000:6.0f} ms"


def bench_speed(per_kind: int, seed: int, repeat: int) -> None:
    shots = photos.hard_photos(per_kind * len(photos.SAMPLES), seed, ("clean",))
    times, right = [], 0
    timed(shots[0].data)  # the first call loads the libraries' tables
    for shot in shots:
        runs = [timed(shot.data) for _ in range(repeat)]
        right += read_right(runs[0][0], shot.text)
        times += [seconds for _, seconds in runs]
    print(
        f"speed: {len(shots)} plain 1280x720 JPEGs, one barcode each ({', '.join(photos.SAMPLES)})"
    )
    median = statistics.median(times) * 1000
    print(f"  decode_image: {ms(times)} ({repeat} runs each); read right {right}/{len(shots)}")
    print(f"  target: median at most 60 ms: {'met' if median <= 60 else 'MISSED'}")
    # With nothing to find, every attempt runs: the most a photo costs.
    rng = random.Random(seed)
    empty = [photos.jpeg(photos.photo(Image.new("L", (60, 30), 255), rng)) for _ in range(10)]
    empty_times = [timed(data)[1] for data in empty]
    print(f"  a photo with no barcode: {ms(empty_times)}")


def share_of(
    shots: Sequence[photos.HardPhoto], attempts: Attempts, limits: DecodeLimits = LIMITS
) -> tuple[Counter[str], list[float], list[photos.HardPhoto]]:
    """Photos read right per degradation, the times, and the photos missed."""
    right: Counter[str] = Counter()
    times, missed = [], []
    for shot in shots:
        found, seconds = timed(shot.data, attempts, limits)
        times.append(seconds)
        if read_right(found, shot.text):
            right[shot.degradation] += 1
        else:
            missed.append(shot)
    return right, times, missed


def bench_hard(per: int, seed: int) -> None:
    shots = photos.hard_photos(per, seed)
    right, times, missed = share_of(shots, decode._ATTEMPTS)
    total = sum(right.values())
    print(f"hard: {len(shots)} 1280x720 JPEGs, {per} per degradation, seed {seed}")
    print(f"  read {total}/{len(shots)} ({total / len(shots):.0%}); {ms(times)}")
    for degradation in photos.DEGRADATIONS:
        names = Counter(shot.kind for shot in missed if shot.degradation == degradation)
        note = ", ".join(f"{kind} x{n}" for kind, n in names.items())
        print(
            f"  {degradation:13s} {right[degradation]:3d}/{per}  {('missed: ' + note) if note else ''}"
        )


def bench_orders(per: int, seed: int) -> None:
    shots = photos.hard_photos(per, seed)
    plain = photos.hard_photos(5, seed + 1, ("clean",))
    print(f"orders: the {len(shots)} hard photos (seed {seed}); time also on 5 plain ones")
    width = max(map(len, ORDERS))
    print(f"  {'':{width}s} read     hard photos{'':30s} plain, median")
    for name, attempts in ORDERS.items():
        right, times, _ = share_of(shots, attempts)
        plain_times = [timed(shot.data, attempts)[1] for shot in plain for _ in range(3)]
        total = sum(right.values())
        print(
            f"  {name:{width}s} {total:3d}/{len(shots)}  {ms(times)}  {statistics.median(plain_times) * 1000:5.1f} ms"
        )


def bench_work(per: int, seed: int, sizes: Sequence[int]) -> None:
    shots = photos.hard_photos(per, seed, size=(4032, 3024))
    print(f"work: {len(shots)} 4032x3024 JPEGs ({per} per degradation) scaled to work_pixels")
    for pixels in sizes:
        right, times, _ = share_of(shots, decode._ATTEMPTS, DecodeLimits(work_pixels=pixels))
        total = sum(right.values())
        worst = ", ".join(f"{d} {right[d]}/{per}" for d in ("blur", "noise", "small"))
        print(f"  {pixels / 1e6:4.1f} MP: read {total:3d}/{len(shots)}  {ms(times)}  ({worst})")


SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {
    "speed": lambda args: bench_speed(5, args.seed, 3),
    "hard": lambda args: bench_hard(args.per, args.seed),
    "orders": lambda args: bench_orders(args.per, args.seed),
    "work": lambda args: bench_work(
        4, args.seed, [500_000, 1_000_000, 1_600_000, 2_500_000, 4_000_000]
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "sections", nargs="*", help=f"some of {', '.join(SECTIONS)}; all unless told"
    )
    parser.add_argument("--per", type=int, default=20, help="hard photos per degradation")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    for section in args.sections or SECTIONS:
        SECTIONS[section](args)


if __name__ == "__main__":
    main()
