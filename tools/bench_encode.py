"""Measure output encoders on real cut-outs: time and size of PNG levels, OpenCV PNG, WebP variants.

This produced the table in ``bgremover/imaging/encode.py``. Photos are read where they are (e.g. the
dev set in ../shared, never copied into the project), cut out with u2netp, resized to ~1 MP and ~4 MP::

    .venv/bin/python tools/bench_encode.py ../shared/eval/dev/images/comp1k_boy-1518482_1920_12.jpg \\
        ../shared/eval/dev/images/product_10.png --json /tmp/encode.json

Each encoder runs ``--repeat`` times, interleaved with the others so that machine load hits all alike;
the minimum is reported. On a shared machine read the times as ratios, not absolute speeds.
"""
from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from bgremover import Remover
from bgremover.imaging.compose import compose_cutout
from bgremover.imaging.encode import drop_hidden_colour, encode_image
from bgremover.imaging.png import encode_png

Encoder = Callable[[np.ndarray], bytes]


def pillow(fmt: str, zero: bool, **kw: object) -> Encoder:
    def run(px: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(drop_hidden_colour(px) if zero else px).save(buf, format=fmt, **kw)
        return buf.getvalue()
    return run


def opencv_png(level: int, zero: bool, **flags: int) -> Encoder:
    def run(px: np.ndarray) -> bytes:
        params = [cv2.IMWRITE_PNG_COMPRESSION, level]
        for key, value in flags.items():
            params += [getattr(cv2, key), value]
        bgra = cv2.cvtColor(drop_hidden_colour(px) if zero else px, cv2.COLOR_RGBA2BGRA)
        return cv2.imencode(".png", bgra, params)[1].tobytes()
    return run


def strips_png(level: int, strips: int) -> Encoder:
    return lambda px: encode_png(drop_hidden_colour(px), level, strips)


ENCODERS: dict[str, Encoder] = {
    **{f"pillow png level {n}": pillow("PNG", False, compress_level=n) for n in range(10)},
    **{f"pillow png level {n}, zero": pillow("PNG", True, compress_level=n) for n in range(10)},
    "opencv png level 1 rle, zero": opencv_png(1, True, IMWRITE_PNG_STRATEGY=cv2.IMWRITE_PNG_STRATEGY_RLE),
    "opencv png level 1 sub, zero": opencv_png(1, True, IMWRITE_PNG_FILTER=cv2.IMWRITE_PNG_FILTER_SUB),
    **{f"bgremover png level {n}, {k} strip(s), zero": strips_png(n, k) for n in (1, 2, 3) for k in (1, 2)},
    "webp lossless m0 effort 0": pillow("WEBP", False, lossless=True, method=0, quality=0, exact=False),
    "webp lossless m0 effort 100": pillow("WEBP", False, lossless=True, method=0, quality=100, exact=False),
    "webp lossless m1 effort 0": pillow("WEBP", False, lossless=True, method=1, quality=0, exact=False),
    **{f"webp lossy q{q} m{m}": pillow("WEBP", False, quality=q, method=m, alpha_quality=100, exact=False)
       for q, m in ((90, 0), (90, 1), (90, 2), (90, 4), (80, 0))},
    "bgremover default png": lambda px: encode_image(px, "png"),
    "bgremover default webp": lambda px: encode_image(px, "webp"),
    "bgremover default lossy webp": lambda px: encode_image(px, "webp", lossless=False),
}


def cutout(remover: Remover, path: Path, megapixels: float) -> np.ndarray:
    im = Image.open(path).convert("RGB")
    scale = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
    rgb = np.asarray(im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS))
    matte = remover.matte(rgb, "bg-remover-fast")
    return compose_cutout(matte.foreground, matte.alpha)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("photos", nargs="+", type=Path)
    ap.add_argument("--megapixels", type=float, nargs="+", default=[1.0, 4.0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", nargs="*", default=[], help="substrings of encoder names to run")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    encoders = {k: f for k, f in ENCODERS.items() if not args.only or any(o in k for o in args.only)}
    remover, rows = Remover(), []
    for mp in args.megapixels:
        for photo in args.photos:
            px = cutout(remover, photo, mp)
            times: dict[str, list[float]] = {k: [] for k in encoders}
            sizes: dict[str, int] = {}
            for _ in range(args.repeat):
                for name, encode in encoders.items():
                    t = time.perf_counter()
                    sizes[name] = len(encode(px))
                    times[name].append(time.perf_counter() - t)
            for name in encoders:
                row = {"photo": photo.stem, "megapixels": round(px.shape[0] * px.shape[1] / 1e6, 2), "encoder": name,
                       "min_ms": round(min(times[name]) * 1000, 1), "kB": round(sizes[name] / 1000)}
                rows.append(row)
                print(f"{row['photo'][:24]:24s} {row['megapixels']:5.2f} MP  {name:32s} "
                      f"{row['min_ms']:8.1f} ms {row['kB']:7d} kB", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
