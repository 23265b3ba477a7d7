"""Bytes to pixels: JPEG, PNG and WebP only, sniffed from the bytes, bounded before decoding.

Checks run cheapest first, and nothing is decoded until the image is known to fit:

1. the byte count against ``max_bytes``;
2. the magic number (JPEG, PNG or WebP; GIF, TIFF, SVG, text... are refused before Pillow parses them);
3. the declared width and height, read from the header by us (no pixel buffer exists yet; Pillow's WebP
   opener would allocate its canvas, so we never ask it first) against ``max_pixels``;
4. the container is complete (PNG chunks up to IEND, WebP's RIFF length), so a truncated file fails even
   if some library in the process switched Pillow's ``LOAD_TRUNCATED_IMAGES`` on;
5. JPEG only: a strict libjpeg-turbo pass (``simplejpeg``, at 1/8 scale: about a third of a full decode),
   because Pillow silently decodes a JPEG whose entropy data is cut short but still closed by an EOI
   marker (what a partial upload or proxy-truncated download looks like): the missing rows come out grey;
6. the decode itself with Pillow, then EXIF orientation and mode conversion (CMYK, 16-bit, palette with
   transparency, grey, LA).

Every failure is a typed error from :mod:`bgremover.errors` with a message that says what to do.
"""
from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from bgremover.errors import CorruptImage, ImageTooLarge, UnsupportedImage

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_PIXELS = 36_000_000
_ORIENTATION = 0x0112  # EXIF tag

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Formats we recognise only to name them in the refusal.
_OTHER_FORMATS = ((b"GIF8", "GIF"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"),
                  (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"), (b"%PDF", "PDF"))


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # H x W x 3 uint8, upright (EXIF orientation applied)
    alpha: np.ndarray | None  # H x W uint8 when the input had real transparency, else None
    format: str  # "JPEG" | "PNG" | "WEBP"

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def sniff_format(data: bytes) -> str | None:
    """JPEG, PNG or WEBP from the magic number, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _describe_unsupported(data: bytes) -> str:
    for magic, name in _OTHER_FORMATS:
        if data.startswith(magic):
            return f"{name} images are not supported; send a JPEG, PNG or WebP image"
    head = data[:256].lstrip().lower()
    if head.startswith(b"<?xml") or b"<svg" in head:
        return "SVG images are not supported; send a JPEG, PNG or WebP image"
    if not data:
        return "the image is empty (0 bytes); send a JPEG, PNG or WebP image"
    return "not a JPEG, PNG or WebP image (judged by its bytes, not its name)"


def declared_size(data: bytes, fmt: str) -> tuple[int, int]:
    """(width, height) from the header alone; raises CorruptImage when the header is unreadable."""
    try:
        if fmt == "PNG":
            if data[12:16] != b"IHDR":
                raise ValueError("no IHDR chunk")
            return struct.unpack(">II", data[16:24])
        if fmt == "WEBP":
            return _webp_size(data)
        import simplejpeg

        h, w, _, _ = simplejpeg.decode_jpeg_header(data)
        return int(w), int(h)
    except (ValueError, struct.error) as exc:
        raise CorruptImage(f"cannot read this {fmt} image's header (truncated or damaged): {exc}") from None


def _webp_size(data: bytes) -> tuple[int, int]:
    kind = data[12:16]
    if kind == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if kind == b"VP8L":
        if data[20:21] != b"\x2f":
            raise ValueError("bad VP8L signature")
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ValueError("bad VP8 start code")
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    raise ValueError(f"unknown WebP chunk {kind!r}")


def _check_complete(data: bytes, fmt: str) -> None:
    """Raise CorruptImage when the container is cut short (independent of Pillow's truncation flag)."""
    if fmt == "WEBP":
        riff = int.from_bytes(data[4:8], "little")
        if len(data) < riff + 8:
            raise CorruptImage(f"this WebP image is truncated: {len(data):,} of {riff + 8:,} bytes")
    elif fmt == "PNG":
        pos = len(_PNG_MAGIC)
        while True:
            if pos + 8 > len(data):
                raise CorruptImage("this PNG image is truncated: it ends before its IEND chunk")
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            pos += 12 + length
            if pos > len(data):
                raise CorruptImage(f"this PNG image is truncated inside its {kind.decode('latin-1')} chunk")
            if kind == b"IEND":
                return


def _check_jpeg_strict(data: bytes) -> None:
    """libjpeg-turbo in strict mode reports a premature end that Pillow hides (see module docstring)."""
    import simplejpeg

    try:
        _, _, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        target = {"Gray": "GRAY", "CMYK": "CMYK", "YCCK": "CMYK"}.get(colorspace, "RGB")
        simplejpeg.decode_jpeg(data, colorspace=target, fastdct=True, fastupsample=True, min_factor=8, strict=True)
    except ValueError as exc:
        # Other warnings ("extraneous bytes before marker"...) are common in camera files and harmless;
        # libjpeg-turbo stops at the first warning, so a premature end after one of those goes unseen.
        if "premature end" in str(exc).lower():
            raise CorruptImage(f"this JPEG image is truncated (its data ends early): {exc}") from None


def decode_image(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode JPEG, PNG or WebP bytes into upright RGB (+ alpha), or raise a typed InvalidImage."""
    if len(data) > max_bytes:
        raise ImageTooLarge(f"image is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    fmt = sniff_format(data)
    if fmt is None:
        raise UnsupportedImage(_describe_unsupported(data))
    w, h = declared_size(data, fmt)
    if w < 1 or h < 1:
        raise CorruptImage(f"this {fmt} image declares no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise ImageTooLarge(f"image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,} pixels")
    _check_complete(data, fmt)
    if fmt == "JPEG":
        _check_jpeg_strict(data)
    return _to_arrays(_pillow_decode(data, fmt), fmt)


def _pillow_decode(data: bytes, fmt: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit was checked above
            im = Image.open(io.BytesIO(data), formats=[fmt])
            im.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"image is too large to decode safely: {exc}") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError... for damaged files
        raise CorruptImage(f"cannot decode this {fmt} image (truncated or damaged): {exc}") from None
    try:
        if im.getexif().get(_ORIENTATION, 1) in range(2, 9):  # else exif_transpose would only copy the image
            return ImageOps.exif_transpose(im) or im
    except Exception:  # a damaged EXIF block must not cost the user a good photo: keep it as stored
        pass
    return im


def _to_arrays(im: Image.Image, fmt: str) -> DecodedImage:
    if im.mode.startswith("I;16") or im.mode == "I":  # 16-bit grey PNG: 0..65535 to 0..255
        arr = np.asarray(im, dtype=np.float32) / 257.0
        grey = np.clip(arr + 0.5, 0, 255).astype(np.uint8)
        return DecodedImage(np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2)), None, fmt)
    if im.mode == "F":
        raise CorruptImage(f"this {fmt} image has floating-point pixels, which are not supported")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if not has_alpha:
        rgb = im if im.mode == "RGB" else im.convert("RGB")  # convert() would copy even an RGB image
        return DecodedImage(np.ascontiguousarray(np.asarray(rgb)), None, fmt)
    if im.mode in ("RGBa", "La"):  # premultiplied: un-premultiply through Pillow's own conversion
        im = im.convert("RGBA")
    rgba = np.asarray(im.convert("RGBA"))
    alpha = np.ascontiguousarray(rgba[..., 3])
    colour = np.ascontiguousarray(rgba[..., :3])
    return DecodedImage(colour, None if alpha.min() == 255 else alpha, fmt)
