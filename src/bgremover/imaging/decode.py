"""Bytes to pixels: JPEG, PNG and WebP only, sniffed from the bytes, bounded before decoding."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from bgremover.errors import CorruptImage, ImageTooLarge, UnsupportedImage

# Magic numbers of the formats we accept; everything else is refused before Pillow parses it.
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)


def sniff_format(data: bytes) -> str | None:
    for magic, fmt in _SIGNATURES:
        if data.startswith(magic):
            return fmt
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # H x W x 3 uint8
    alpha: np.ndarray | None  # H x W uint8 when the input had transparency
    format: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def decode_image(data: bytes, *, max_bytes: int = 25 * 1024 * 1024, max_pixels: int = 36_000_000) -> DecodedImage:
    if len(data) > max_bytes:
        raise ImageTooLarge(f"image is {len(data):,} bytes; the limit is {max_bytes:,}")
    fmt = sniff_format(data)
    if fmt is None:
        raise UnsupportedImage("not a JPEG, PNG or WebP image (judged by its bytes)")
    try:
        im = Image.open(io.BytesIO(data), formats=[fmt])
    except Exception as exc:
        raise CorruptImage(f"cannot read this {fmt} image: {exc}") from exc
    w, h = im.size
    if w * h > max_pixels:  # header only: nothing has been decoded yet
        raise ImageTooLarge(f"image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,}")
    if w < 1 or h < 1:
        raise CorruptImage("image has no pixels")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
            im = ImageOps.exif_transpose(im) or im
    except ImageTooLarge:
        raise
    except Exception as exc:
        raise CorruptImage(f"cannot decode this {fmt} image (truncated or damaged): {exc}") from exc
    return _to_arrays(im, fmt)


def _to_arrays(im: Image.Image, fmt: str) -> DecodedImage:
    alpha = None
    if im.mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        scale = 65535.0 if arr.max() > 255 or im.mode.startswith("I;16") else 255.0
        grey = np.clip(arr / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return DecodedImage(np.repeat(grey[..., None], 3, axis=2), None, fmt)
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"))
        if alpha.min() == 255:
            alpha = None
        rgb = np.asarray(rgba.convert("RGB"))
    elif im.mode == "CMYK":
        rgb = np.asarray(im.convert("RGB"))
    else:
        rgb = np.asarray(im.convert("RGB"))
    return DecodedImage(np.ascontiguousarray(rgb), alpha, fmt)
