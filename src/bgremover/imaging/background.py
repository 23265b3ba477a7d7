"""A cut-out over a background photo, and the colour + matte pair remove.bg calls its ZIP format.

Pure numpy/OpenCV/Pillow: the background arrives as bytes someone else fetched (the pipeline never fetches).
"""
from __future__ import annotations

import io
import zipfile

import numpy as np

from bgremover.imaging.decode import decode_image
from bgremover.imaging.encode import encode_image, encode_jpeg
from bgremover.imaging.layout import fit_megapixels

ZIP_CONTENT_TYPE = "application/zip"
ZIP_COLOR, ZIP_ALPHA = "color.jpg", "alpha.png"


def cover(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """The image resized to fill width x height, keeping its aspect, centred and cropped; the same size: as is."""
    h, w = rgb.shape[:2]
    if (w, h) == (width, height):
        return rgb
    import cv2

    factor = max(width / w, height / h)
    size = (max(width, round(w * factor)), max(height, round(h * factor)))
    scaled = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    x0, y0 = (size[0] - width) // 2, (size[1] - height) // 2
    return scaled[y0:y0 + height, x0:x0 + width]


def over_image(fg: np.ndarray, alpha: np.ndarray, background: bytes, *, max_bytes: int,
               max_pixels: int) -> np.ndarray:
    """H x W x 3 uint8: ``fg`` (uint8) over the background image (bytes, decoded within the same bounds as any
    input) by ``alpha`` (float in [0, 1]). The background's own transparency is flattened onto black."""
    bg = decode_image(background, max_bytes=max_bytes, max_pixels=max_pixels)
    bg_rgb = cover(bg.rgb, fg.shape[1], fg.shape[0]).astype(np.float32)
    if bg.alpha is not None:
        bg_rgb *= cover(bg.alpha, fg.shape[1], fg.shape[0]).astype(np.float32)[..., None] / 255.0
    af = alpha.astype(np.float32, copy=False)[..., None]
    return np.clip(fg.astype(np.float32) * af + bg_rgb * (1.0 - af) + 0.5, 0, 255).astype(np.uint8)


def reencode_background(data: bytes, *, max_bytes: int, max_pixels: int, max_megapixels: float) -> bytes:
    """A background image as a JPEG of at most ``max_megapixels``, its transparency flattened onto black as
    :func:`over_image` would: what a task stores instead of the original (which may be far larger than needed)."""
    import cv2

    img = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    rgb = img.rgb
    if img.alpha is not None:
        rgb = (rgb.astype(np.float32) * (img.alpha.astype(np.float32)[..., None] / 255.0) + 0.5).astype(np.uint8)
    size = fit_megapixels(img.width, img.height, max_megapixels)
    if size != (img.width, img.height):
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return encode_jpeg(rgb)


def encode_color_alpha_zip(rgb: np.ndarray, alpha8: np.ndarray) -> bytes:
    """A ZIP of ``color.jpg`` (the colours, no transparency) and ``alpha.png`` (the matte, grey): together they
    are the RGBA cut-out, at a fraction of a PNG's bytes for large photos."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:  # JPEG and PNG are compressed already
        zf.writestr(ZIP_COLOR, encode_jpeg(rgb))
        zf.writestr(ZIP_ALPHA, encode_image(alpha8, "png"))
    return buf.getvalue()
