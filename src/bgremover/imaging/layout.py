"""Where the subject goes on the output canvas: lengths in pixels or percent, a region of interest, crop margins,
scaling and positioning the subject, and the output size in megapixels.

Lengths are written as CSS-like text, ``"30px"``, ``"10%"`` or a bare number (pixels), because that is how
callers store them in a task's options (JSON) and how remove.bg-style clients send them. Pure numpy and OpenCV.
"""
from __future__ import annotations

import math
import re

import numpy as np

from bgremover.imaging.compose import subject_box

_LENGTH = re.compile(r"^(\d+(?:\.\d+)?)(px|%)?$")
MAX_MARGIN_PX, MAX_MARGIN_SHARE = 500, 0.5  # at most this much margin per side (px, share of the subject's size)
MIN_SCALE, MAX_SCALE = 0.10, 1.0


def parse_length(text: str) -> tuple[float, bool]:
    """``"30px"`` or ``"30"`` → (30, False); ``"10%"`` → (0.10, True)."""
    m = _LENGTH.match(text.strip().lower())
    if not m:
        raise ValueError(f"not a length: {text!r} (use e.g. 30px or 10%)")
    value, unit = float(m.group(1)), m.group(2)
    return (value / 100.0, True) if unit == "%" else (value, False)


def _resolve(length: tuple[float, bool], extent: int) -> float:
    value, relative = length
    return value * extent if relative else value


def parse_roi(text: str) -> tuple[tuple[float, bool], ...]:
    """``"x1 y1 x2 y2"`` (each a length: pixels or percent of the image's width/height)."""
    parts = text.replace(",", " ").split()
    if len(parts) != 4:
        raise ValueError(f"a region needs four lengths 'x1 y1 x2 y2', not {text!r}")
    return tuple(parse_length(p) for p in parts)


def roi_box(text: str, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom), exclusive at right/bottom, clipped to the image; refused when empty."""
    x1, y1, x2, y2 = parse_roi(text)
    left = max(0, min(width, round(_resolve(x1, width))))
    top = max(0, min(height, round(_resolve(y1, height))))
    right = max(0, min(width, round(_resolve(x2, width))))
    bottom = max(0, min(height, round(_resolve(y2, height))))
    if right - left < 1 or bottom - top < 1:
        raise ValueError(f"the region {text!r} holds no pixels of the {width}x{height} image")
    return left, top, right, bottom


def parse_margins(text: str) -> tuple[tuple[float, bool], ...]:
    """One (all sides), two (top/bottom, left/right) or four (top, right, bottom, left) lengths, CSS order."""
    parts = [parse_length(p) for p in text.replace(",", " ").split()]
    if len(parts) == 1:
        return (parts[0],) * 4
    if len(parts) == 2:
        return parts[0], parts[1], parts[0], parts[1]
    if len(parts) == 4:
        return tuple(parts)
    raise ValueError(f"a margin is one, two or four lengths, not {text!r}")


def margin_pixels(text: str, subject_w: int, subject_h: int) -> tuple[int, int, int, int]:
    """(top, right, bottom, left) in pixels; percentages are of the subject's size, each side capped at half the
    subject's size or 500 pixels, whichever is less."""
    top, right, bottom, left = parse_margins(text)
    out = []
    for length, extent in ((top, subject_h), (right, subject_w), (bottom, subject_h), (left, subject_w)):
        cap = min(MAX_MARGIN_PX, MAX_MARGIN_SHARE * extent)
        out.append(round(min(_resolve(length, extent), cap)))
    return out[0], out[1], out[2], out[3]


def crop_to_subject(fg: np.ndarray, alpha: np.ndarray, margin: int | str) -> tuple[np.ndarray, np.ndarray]:
    """Cut both to the subject's box plus the margin (pixels, or a margin text); no subject: unchanged.

    A margin reaching past the image pads with transparent pixels, so the subject keeps its margin."""
    box = subject_box(alpha)
    if box is None:
        return fg, alpha
    t, b, left, right = box
    if isinstance(margin, int):
        mt = mr = mb = ml = margin
    else:
        mt, mr, mb, ml = margin_pixels(margin, right - left, b - t)
    h, w = alpha.shape
    if isinstance(margin, int):  # a pixel margin stays inside the image, as it always has
        return fg[max(0, t - mt):min(h, b + mb), max(0, left - ml):min(w, right + mr)], \
            alpha[max(0, t - mt):min(h, b + mb), max(0, left - ml):min(w, right + mr)]
    out_h, out_w = (b - t) + mt + mb, (right - left) + ml + mr
    out_fg = np.zeros((out_h, out_w, 3), np.uint8)
    out_a = np.zeros((out_h, out_w), alpha.dtype)
    out_fg[mt:mt + b - t, ml:ml + right - left] = fg[t:b, left:right]
    out_a[mt:mt + b - t, ml:ml + right - left] = alpha[t:b, left:right]
    return out_fg, out_a


def parse_scale(text: str) -> float | None:
    """``"original"`` → None; ``"10%"`` … ``"100%"`` → 0.1 … 1.0."""
    if text.strip().lower() == "original":
        return None
    value, relative = parse_length(text)
    if not relative or not MIN_SCALE - 1e-9 <= value <= MAX_SCALE + 1e-9:
        raise ValueError(f"scale is 'original' or 10% to 100%, not {text!r}")
    return value


def parse_position(text: str) -> tuple[float, float] | None:
    """``"original"`` → None; ``"center"`` → (0.5, 0.5); ``"X%"`` or ``"X% Y%"`` → fractions of the free space."""
    t = text.strip().lower()
    if t == "original":
        return None
    if t == "center":
        return 0.5, 0.5
    parts = [parse_length(p) for p in t.replace(",", " ").split()]
    if len(parts) not in (1, 2) or not all(rel and 0 <= v <= 1 for v, rel in parts):
        raise ValueError(f"position is 'original', 'center' or one or two percentages 0%-100%, not {text!r}")
    return (parts[0][0], parts[-1][0])


def place_subject(fg: np.ndarray, alpha: np.ndarray, scale: float | None,
                  position: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """The subject moved (and resized) on a canvas of the same size: ``scale`` is the share of the canvas its box
    fills along its tighter side; ``position`` puts the box's free space left/top (0) to right/bottom (1).

    The whole layer moves by one affine map (faint pixels outside the subject's box go with it), so the box
    lands exactly where asked."""
    box = subject_box(alpha)
    if box is None or (scale is None and position is None):
        return fg, alpha
    import cv2

    t, b, left, right = box
    h, w = alpha.shape
    factor = 1.0 if scale is None else scale * min(w / (right - left), h / (b - t))
    sw, sh = (right - left) * factor, (b - t) * factor
    if position is None:  # scaled in place: about the subject's own centre
        x0, y0 = (left + right - sw) / 2, (t + b - sh) / 2
    else:
        x0, y0 = (w - sw) * position[0], (h - sh) * position[1]
    x0, y0 = max(0.0, min(w - sw, x0)), max(0.0, min(h - sh, y0))
    shift_x, shift_y = x0 - left * factor, y0 - t * factor
    if factor == 1.0:  # a pure move: whole pixels, nothing resampled
        m, interp = np.array([[1, 0, round(shift_x)], [0, 1, round(shift_y)]], np.float32), cv2.INTER_NEAREST
    elif factor < 1:  # shrink with area averaging (no aliasing), then shift by the sub-pixel rest
        fg, alpha = (cv2.resize(x, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) for x in (fg, alpha))
        m, interp = np.array([[1, 0, shift_x], [0, 1, shift_y]], np.float32), cv2.INTER_LINEAR
    else:
        m, interp = np.array([[factor, 0, shift_x], [0, factor, shift_y]], np.float32), cv2.INTER_LINEAR
    def warp(img: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(img, m, (w, h), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    return warp(fg), warp(alpha)


def fit_megapixels(width: int, height: int, max_megapixels: float | None) -> tuple[int, int]:
    """The size to shrink to so that width × height ≤ the limit, keeping the aspect; never enlarged."""
    if max_megapixels is None or width * height <= max_megapixels * 1e6:
        return width, height
    factor = math.sqrt(max_megapixels * 1e6 / (width * height))
    return max(1, int(width * factor)), max(1, int(height * factor))
