"""What a customer sees first in a cut-out: holes in the subject and ghosts of the background.

* **holes**: the share of ground-truth-opaque pixels (alpha >= 0.95) that come out below 0.9, a
  see-through sweater or a dropped face;
* **ghosts**: the share of ground-truth-background pixels (alpha <= 0.05) that come out above 0.1,
  a faint copy of the rocks behind the subject.

Both regions are first shrunk by 1 % of the image diagonal (at least 3 px), so a soft hair tip or
an edge a pixel off does not count: these numbers are about whole regions, the eight headline
numbers already judge edges. The image border is not an edge (a subject cut by the frame keeps its
opaque pixels there). An item whose shrunk region is empty has no value for that number.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

OPAQUE_GT, HOLE_BELOW = 0.95, 0.9
BACKGROUND_GT, GHOST_ABOVE = 0.05, 0.1
SHRINK_SHARE, SHRINK_MIN_PX = 0.01, 3
DEFECT_KEYS = ("holes", "ghosts")


def shrink_radius(height: int, width: int) -> int:
    """Pixels a region is shrunk by: 1 % of the diagonal, rounded, at least 3."""
    return max(SHRINK_MIN_PX, round(SHRINK_SHARE * math.hypot(height, width)))


def shrink(region: np.ndarray, radius: int) -> np.ndarray:
    """``region`` eroded by a disc of ``radius`` pixels; outside the image counts as inside the region."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.erode(region.astype(np.uint8), disc, borderType=cv2.BORDER_REPLICATE).astype(bool)


def _share(flagged: np.ndarray, region: np.ndarray) -> float | None:
    n = int(region.sum())
    return float(np.count_nonzero(flagged & region) / n) if n else None


def defect_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float | None]:
    """``holes`` and ``ghosts`` of one prediction (float alphas in [0, 1], same shape)."""
    r = shrink_radius(*gt.shape)
    opaque = shrink(gt >= OPAQUE_GT, r)
    background = shrink(gt <= BACKGROUND_GT, r)
    return {"holes": _share(pred < HOLE_BELOW, opaque), "ghosts": _share(pred > GHOST_ABOVE, background)}
