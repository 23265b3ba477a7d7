"""Alpha matte + photo to the output pixels: RGBA, alpha only, cropped, or on a background colour.

Everything here is plain numpy on uint8/float32 arrays; no model, no file format.
"""
from __future__ import annotations

import re

import numpy as np
from PIL import ImageColor

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
CHANNELS = ("rgba", "alpha")
ForegroundBox = tuple[int, int, int, int]  # top, left, width, height: remove.bg's X-Foreground-*


def parse_color(text: str) -> tuple[int, int, int, int]:
    """A colour as CSS writes it, to an RGBA tuple (alpha 255 when not given).

    Hex (``#rrggbb``, ``rrggbb``, ``#rgb``, ``#rgba``, ``#rrggbbaa``), or anything Pillow's ImageColor
    reads: the CSS colour names (``white``, ``RebeccaPurple``), ``rgb()``, ``rgba()``, ``hsl()``.
    """
    stripped = text.strip()
    m = _HEX.match(stripped)
    if m:
        h = m.group(1)
        if len(h) in (3, 4):
            h = "".join(c * 2 for c in h)
        if len(h) == 6:
            h += "ff"
        r, g, b, a = (int(h[i:i + 2], 16) for i in range(0, 8, 2))
        return r, g, b, a
    try:
        rgba = ImageColor.getcolor(stripped, "RGBA") if stripped and not stripped.startswith("#") else None
    except ValueError:
        rgba = None
    if not isinstance(rgba, tuple) or len(rgba) != 4:
        raise ValueError(f"not a colour: {text[:40]!r} (use a CSS colour name such as 'white', "
                         "#rrggbb or #rrggbbaa)")
    r, g, b, a = rgba
    return r, g, b, a


def subject_box(alpha: np.ndarray, margin: int = 0, threshold: float = 0.05) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the pixels above threshold, grown by margin and clipped to the
    image, or None when nothing is above it. Bottom and right are exclusive, as in slicing.

    Judged on the 8-bit matte a result stores (a float alpha of 0.0499 is stored as 13/255, above 5 %), so the box
    that crops or places the subject is the box the X-Foreground-* headers report of the result."""
    return subject_box8(to_alpha8(alpha), margin, threshold)


def subject_box8(alpha8: np.ndarray, margin: int = 0, threshold: float = 0.05) -> tuple[int, int, int, int] | None:
    """:func:`subject_box` of a uint8 matte (alpha8 / 255 above threshold)."""
    mask = alpha8 > threshold * 255
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = alpha8.shape
    return (max(0, int(rows[0]) - margin), min(h, int(rows[-1]) + 1 + margin),
            max(0, int(cols[0]) - margin), min(w, int(cols[-1]) + 1 + margin))


def foreground_box(alpha8: np.ndarray) -> ForegroundBox:
    """(top, left, width, height) of the subject in a uint8 matte, as remove.bg's X-Foreground-* headers give it
    (alpha above 5 %); all zero when there is no subject. Measured on the 8-bit matte a result stores."""
    box = subject_box8(alpha8)
    if box is None:
        return 0, 0, 0, 0
    top, bottom, left, right = box
    return top, left, right - left, bottom - top


def to_alpha8(alpha: np.ndarray) -> np.ndarray:
    """Float alpha in [0, 1] to uint8, rounded (not truncated, so 0.999 stays opaque)."""
    return np.clip(alpha * np.float32(255.0) + np.float32(0.5), 0, 255).astype(np.uint8)


def compose_cutout(foreground: np.ndarray, alpha: np.ndarray, *, channels: str = "rgba", crop: bool = False,
                   crop_margin: int = 0, bg_color: str | None = None) -> np.ndarray:
    """Output pixels (uint8): H x W x 4 (RGBA), H x W x 3 (on an opaque colour) or H x W (alpha only).

    ``foreground`` is the colour to show where alpha > 0 (ideally the estimated foreground, free of the
    old background); ``alpha`` is float in [0, 1]. With ``crop`` the result is cut to the subject's box
    plus ``crop_margin`` pixels (a matte with no subject is left uncropped). ``bg_color`` composites the
    cut-out over that colour; if the colour itself is partly transparent the result keeps an alpha channel
    (Porter-Duff "over"). ``channels="alpha"`` returns the matte alone and ignores ``bg_color``.
    """
    if channels not in CHANNELS:
        raise ValueError(f"channels must be one of {', '.join(CHANNELS)}, not {channels!r}")
    if foreground.shape[:2] != alpha.shape:
        raise ValueError(f"foreground {foreground.shape[:2]} and alpha {alpha.shape} differ in size")
    fg = foreground
    if crop:
        box = subject_box(alpha, crop_margin)
        if box is not None:
            t, b, left, right = box
            fg, alpha = fg[t:b, left:right], alpha[t:b, left:right]
    a8 = to_alpha8(alpha)
    if channels == "alpha":
        return a8
    if not bg_color:
        out = np.empty(a8.shape + (4,), np.uint8)
        out[..., :3] = fg
        out[..., 3] = a8
        return out
    return _over_color(fg, alpha.astype(np.float32, copy=False), a8, parse_color(bg_color))


def _over_color(fg: np.ndarray, alpha: np.ndarray, a8: np.ndarray, color: tuple[int, int, int, int]) -> np.ndarray:
    r, g, b, a = color
    bg = np.array([r, g, b], np.float32)
    af = alpha[..., None]
    if a == 255:
        rgb = fg.astype(np.float32) * af + bg * (1.0 - af)
        out: np.ndarray = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
        return out
    bg_a = a / 255.0
    out_a = af + bg_a * (1.0 - af)  # Porter-Duff over, straight (not premultiplied) colours
    rgb = (fg.astype(np.float32) * af + bg * (bg_a * (1.0 - af))) / np.maximum(out_a, 1e-6)
    out = np.empty(a8.shape + (4,), np.uint8)
    out[..., :3] = np.clip(rgb + 0.5, 0, 255)
    out[..., 3] = np.clip(out_a[..., 0] * 255.0 + 0.5, 0, 255)
    return out
