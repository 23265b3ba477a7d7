"""Before and after the model: shrink the photo to the output size asked for, run the model only inside a region
of interest, and lay the subject out on the canvas (crop with margins, or scale and position it)."""
from __future__ import annotations

import numpy as np

from bgremover.imaging.layout import crop_to_subject, fit_megapixels, parse_position, parse_scale, place_subject
from bgremover.inference.catalog import Preset
from bgremover.inference.registry import SegmenterRegistry
from bgremover.pipeline.recipe import Matte, run_recipe

Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive)


def shrink(rgb: np.ndarray, alpha: np.ndarray | None, roi: Box | None,
           max_megapixels: float | None) -> tuple[np.ndarray, np.ndarray | None, Box | None]:
    """The photo (and its own alpha, and the region) reduced to at most ``max_megapixels``; never enlarged.

    Shrinking before the model costs nothing in quality (the model sees 320-1024 px anyway) and saves the edge
    stages' full-size work."""
    h, w = rgb.shape[:2]
    nw, nh = fit_megapixels(w, h, max_megapixels)
    if (nw, nh) == (w, h):
        return rgb, alpha, roi
    import cv2

    rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    if alpha is not None:
        alpha = cv2.resize(alpha, (nw, nh), interpolation=cv2.INTER_AREA)
    if roi is not None:
        sx, sy = nw / w, nh / h
        left, top = min(nw - 1, int(roi[0] * sx)), min(nh - 1, int(roi[1] * sy))
        roi = (left, top, max(left + 1, round(roi[2] * sx)), max(top + 1, round(roi[3] * sy)))
    return rgb, alpha, roi


def matte_within(rgb: np.ndarray, roi: Box | None, preset: Preset, registry: SegmenterRegistry) -> Matte:
    """The preset's matte; with a region, the model runs on the region alone and everything outside it is
    background: the way to pick one subject out of several, or to exclude a more salient distraction."""
    h, w = rgb.shape[:2]
    if roi is None or roi == (0, 0, w, h):
        return run_recipe(rgb, preset, registry)
    left, top, right, bottom = roi
    inner = run_recipe(np.ascontiguousarray(rgb[top:bottom, left:right]), preset, registry)
    alpha = np.zeros((h, w), np.float32)
    alpha[top:bottom, left:right] = inner.alpha
    fg = rgb.copy()
    fg[top:bottom, left:right] = inner.foreground
    return Matte(alpha=alpha, foreground=fg, timings=inner.timings)


def lay_out(fg: np.ndarray, alpha: np.ndarray, *, crop: bool, crop_margin: int | str, scale: str | None,
            position: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Cropped to the subject (plus margin), or the subject scaled and positioned on the same canvas."""
    if crop:
        return crop_to_subject(fg, alpha, crop_margin)
    factor = parse_scale(scale) if scale else None
    where = parse_position(position) if position else None
    return place_subject(fg, alpha, factor, where)
