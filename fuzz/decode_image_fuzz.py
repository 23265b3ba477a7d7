"""atheris harness for ``bgremover.imaging.decode.decode_image``: any bytes in, a DecodedImage or a typed error out.

Run (libFuzzer flags pass through; the corpus directory is seeded with valid images when empty):

    .venv/bin/python fuzz/decode_image_fuzz.py -max_total_time=300 -rss_limit_mb=3072 /tmp/fuzz-decode

A crash is any exception other than ``bgremover.errors.InvalidImage`` (unsupported, corrupt, too large),
a result whose arrays disagree with each other, or a decode over the pixel limit. tests/hardening/test_fuzz.py
runs this for a few seconds in CI.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["bgremover"]):
    from bgremover.errors import InvalidImage
    from bgremover.imaging.decode import decode_image

MAX_PIXELS = 2_000_000  # small, so one input decodes in milliseconds and the fuzzer explores instead of waiting
MAX_BYTES = 1_000_000


def check(data: bytes) -> None:
    try:
        img = decode_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    except InvalidImage as exc:
        assert exc.code in ("unsupported_image", "corrupt_image", "image_too_large"), exc.code
        assert exc.message, "a typed error must say what went wrong"
        return
    h, w = img.rgb.shape[:2]
    assert img.rgb.ndim == 3 and img.rgb.shape[2] == 3 and img.rgb.dtype.name == "uint8", img.rgb.shape
    assert img.rgb.flags["C_CONTIGUOUS"]
    assert 0 < w * h <= MAX_PIXELS, (w, h)
    assert img.format in ("JPEG", "PNG", "WEBP")
    if img.alpha is not None:
        assert img.alpha.shape == (h, w) and img.alpha.dtype.name == "uint8"


def seeds() -> list[bytes]:
    """Small valid images in the shapes the decoder treats differently (modes, EXIF, WebP chunk kinds)."""
    from PIL import Image

    out = []
    base = Image.new("RGB", (24, 16), (200, 30, 30))
    for fmt, mode, kw in [("JPEG", "RGB", {}), ("JPEG", "L", {}), ("JPEG", "CMYK", {}), ("PNG", "RGBA", {}),
                          ("PNG", "P", {"transparency": 0}), ("PNG", "I;16", {}), ("PNG", "LA", {}),
                          ("WEBP", "RGB", {"lossless": False}), ("WEBP", "RGBA", {"lossless": True}),
                          ("WEBP", "RGBA", {"lossless": False})]:
        im = base.convert(mode) if mode not in ("I;16",) else Image.new("I;16", (24, 16), 40000)
        buf = io.BytesIO()
        im.save(buf, fmt, **kw)
        out.append(buf.getvalue())
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: exercises exif_transpose
    buf = io.BytesIO()
    base.save(buf, "JPEG", exif=exif.tobytes())
    out.append(buf.getvalue())
    return out


def main(argv: list[str]) -> None:
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    if corpus and not Path(corpus[0]).is_file():  # a file argument replays one input (a crash)
        root = Path(corpus[0])
        root.mkdir(parents=True, exist_ok=True)
        if not any(root.iterdir()):
            for i, seed in enumerate(seeds()):
                (root / f"seed-{i:02d}").write_bytes(seed)
    atheris.Setup(argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
