"""Alpha matte + photo to the output pixels: RGBA, alpha only, cropped, or on a background colour."""
from __future__ import annotations

import re

import numpy as np

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8}|[0-9a-fA-F]{3})$")


def parse_color(text: str) -> tuple[int, int, int, int]:
    """'#rrggbb', 'rrggbb', '#rgb' or '#rrggbbaa' to an RGBA tuple."""
    m = _HEX.match(text.strip())
    if not m:
        raise ValueError(f"not a hex colour: {text!r} (use #rrggbb)")
    h = m.group(1)
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    if len(h) == 6:
        h += "ff"
    return tuple(int(h[i:i + 2], 16) for i in range(0, 8, 2))  # type: ignore[return-value]


def subject_box(alpha: np.ndarray, margin: int = 0, threshold: float = 0.05) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the pixels above threshold, grown by margin, or None if empty."""
    rows = np.flatnonzero((alpha > threshold).any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero((alpha > threshold).any(axis=0))
    h, w = alpha.shape
    return (max(0, rows[0] - margin), min(h, rows[-1] + 1 + margin),
            max(0, cols[0] - margin), min(w, cols[-1] + 1 + margin))


def compose_cutout(foreground: np.ndarray, alpha: np.ndarray, *, channels: str = "rgba", crop: bool = False,
                   crop_margin: int = 0, bg_color: str | None = None) -> np.ndarray:
    """Output pixels (uint8). ``foreground`` is the colour to show where alpha > 0 (ideally the
    estimated foreground, free of the old background); ``alpha`` is float in [0, 1]."""
    a8 = np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
    fg = foreground
    if crop:
        box = subject_box(alpha, crop_margin)
        if box is not None:
            t, b, l, r = box
            a8, fg, alpha = a8[t:b, l:r], fg[t:b, l:r], alpha[t:b, l:r]
    if channels == "alpha":
        return a8
    if bg_color:
        r, g, b_, a = parse_color(bg_color)
        bg = np.array([r, g, b_], np.float32)
        af = alpha[..., None].astype(np.float32)
        rgb = fg.astype(np.float32) * af + bg * (1.0 - af)
        rgb8 = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
        if a == 255:
            return rgb8
        out_a = np.clip(a8.astype(np.float32) + a * (1 - alpha), 0, 255).astype(np.uint8)
        return np.dstack([rgb8, out_a])
    return np.dstack([fg, a8])
