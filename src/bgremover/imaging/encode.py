"""Pixels to PNG or WebP bytes, with settings chosen by measurement: encoding is a large share of the time.

Two choices matter most:

* Colour under fully transparent pixels is invisible, so it is set to zero before encoding ("drop
  hidden colour"). A cut-out is about half background; zeroing it makes PNG 30-40 % smaller *and* faster.
  WebP does the same itself with ``exact=False``.
* PNG is written by our own strip-parallel writer (``imaging/png.py``): the Up filter on every row and
  zlib level 2 on one strip per core. It is 2-2.7x faster than libpng (through OpenCV, level 1, RLE:
  the writer before this one) and 8-13 % larger than it, and still 20-30 % smaller than Pillow's
  default PNG (what rembg writes), which takes 15-20x as long.

Measured with ``tools/bench_encode.py`` on two dev-set cut-outs (a Comp-1k portrait / a product photo,
u2netp matte) at 1.0 MP and upscaled to 4.0 MP; min of 7 interleaved runs on a quiet 2-core AMD EPYC,
2026-12-04. "zero" = hidden colour dropped; every row but Pillow's default drops it.

==========================================  ============  ============  ============  ============
encoder                                     1 MP ms       1 MP kB       4 MP ms       4 MP kB
==========================================  ============  ============  ============  ============
Pillow PNG level 6 (Pillow's default)       404 / 384     1555 / 1942   1295 / 1307   4386 / 5774
Pillow PNG level 6, zero                    177 / 152      975 / 1288    735 / 698    2892 / 4077
OpenCV PNG level 1 RLE, zero (until now)     47 /  48      984 / 1291    189 / 196    2968 / 4127
ours, level 1, 2 strips                      23 /  25     1091 / 1401     63 /  89    3423 / 4668
ours, level 2, 1 strip                       32 /  41     1075 / 1388    113 / 153    3341 / 4596
ours, level 2, 2 strips (default)            20 /  27     1075 / 1389     71 / 100    3341 / 4596
ours, level 3, 2 strips                      28 /  35     1059 / 1378    106 / 139    3244 / 4537
==========================================  ============  ============  ============  ============

WebP, from an earlier run of the same script on a loaded machine (load average about 9: compare the
times with that run's libpng row, OpenCV PNG level 1 RLE, which took 72 / 73 ms and 294 / 393 ms):

==========================================  ============  ============  ============  ============
WebP lossless m0 effort 0 (default)          37 /  35      738 / 1175    169 / 220    2191 / 3728
WebP lossless m1 effort 0                   216 / 233      640 /  939   1437 / 1616   1699 / 2500
WebP lossy q90 m0 (default lossy)            77 / 113      190 /  396    533 / 684     446 / 962
WebP lossy q80 m0                            71 / 123      150 /  352    433 / 590     349 / 809
==========================================  ============  ============  ============  ============
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from bgremover.errors import ImageTooLarge
from bgremover.imaging.png import encode_png

CONTENT_TYPES = {"png": "image/png", "webp": "image/webp", "jpg": "image/jpeg"}
JPEG_QUALITY = 90  # Pillow/libjpeg-turbo, 4:2:0: about a tenth of a PNG's bytes for a photo
PNG_LEVEL = 2  # zlib level: 1-4 % smaller than level 1 for 5-10 % more time (see the table above)
WEBP_MAX_SIDE = 16383  # a limit of the WebP format itself
WEBP_LOSSLESS_METHOD, WEBP_LOSSLESS_EFFORT = 0, 0
WEBP_LOSSY_METHOD = 0


def drop_hidden_colour(rgba: np.ndarray) -> np.ndarray:
    """A copy of H x W x 4 uint8 pixels with R, G and B set to 0 wherever alpha is 0."""
    out = np.array(rgba, dtype=np.uint8, order="C", copy=True)
    if np.little_endian:  # one uint32 per pixel, alpha in the top byte: 10x faster than a boolean mask
        packed = out.view(np.uint32)[..., 0]
        packed *= packed >= (1 << 24)
    else:
        out[..., :3][out[..., 3] == 0] = 0
    return out


def encode_image(pixels: np.ndarray, fmt: str = "png", *, lossless: bool = True, quality: int = 90,
                 png_level: int = PNG_LEVEL, drop_hidden: bool = True) -> bytes:
    """Encode H x W (grey, e.g. an alpha matte), H x W x 3 (RGB) or H x W x 4 (RGBA) uint8 pixels.

    ``lossless`` and ``quality`` (1-100) apply to WebP; a lossy WebP keeps its alpha exact. With
    ``drop_hidden`` the colour of fully transparent pixels is not kept (it cannot be seen).
    """
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"unsupported output format {fmt!r}; use png, webp or jpg")
    if (pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (3, 4))
            or 0 in pixels.shape):
        raise ValueError(f"expected H x W, H x W x 3 or H x W x 4 uint8 pixels, got {pixels.dtype} {pixels.shape}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1-100, not {quality}")
    if not 0 <= png_level <= 9:
        raise ValueError(f"png_level must be 0-9, not {png_level}")
    if pixels.ndim == 3 and pixels.shape[2] == 4 and drop_hidden:
        pixels = drop_hidden_colour(pixels)
    if fmt == "png":
        return encode_png(pixels, png_level)
    if fmt == "jpg":
        return encode_jpeg(pixels)
    return _encode_webp(pixels, lossless, quality)


def encode_jpeg(pixels: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """H x W (grey) or H x W x 3 pixels as a JPEG; JPEG has no alpha, so RGBA is refused (flatten it first)."""
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        raise ValueError("JPEG has no alpha channel: composite the cut-out over a colour first")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _encode_webp(pixels: np.ndarray, lossless: bool, quality: int) -> bytes:
    h, w = pixels.shape[:2]
    if max(h, w) > WEBP_MAX_SIDE:
        raise ImageTooLarge(f"WebP cannot hold a {w}x{h} image (at most {WEBP_MAX_SIDE} pixels a side); "
                            f"ask for PNG instead")
    im = Image.fromarray(np.ascontiguousarray(pixels))
    buf = io.BytesIO()
    if lossless:
        im.save(buf, format="WEBP", lossless=True, quality=WEBP_LOSSLESS_EFFORT, method=WEBP_LOSSLESS_METHOD,
                exact=False)
    else:
        im.save(buf, format="WEBP", quality=quality, method=WEBP_LOSSY_METHOD, alpha_quality=100, exact=False)
    return buf.getvalue()
