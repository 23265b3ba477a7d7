"""Low-resolution probability map to a full-resolution alpha matte, guided by the photo.

The models see the photo at 320 (U²-Net) or 1024 (IS-Net) pixels; their map is soft and
misplaced by up to one model pixel along edges. We upsample it smoothly, then run He et al.'s
colour guided filter so the edge snaps to the photo's own edges. The filter works at a reduced
"work" resolution (its cost is fixed, whatever the photo's size) and only its linear
coefficients are carried to full resolution (the "fast guided filter", He & Sun 2015), so fine
photo detail still shapes the full-resolution alpha. A final stretch (a threshold plus a
linear feather) calibrates the map: salient-object models leave a haze of low probabilities
around the subject that is neither subject nor background.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_INTERP = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}


@dataclass(frozen=True)
class RefineParams:
    method: str = "guided"  # "guided" | "upsample"
    upsample: str = "cubic"  # how the model map is enlarged: "linear" | "cubic"
    work_side: int = 640  # longer side of the guided filter's working resolution
    radius: int = 2  # guided filter window radius, in work pixels
    eps: float = 1e-4  # guided filter regulariser: larger keeps the map smoother
    stretch: tuple[float, float] = (0.0, 1.0)  # map [lo, hi] linearly onto [0, 1], clipping outside

    def __post_init__(self) -> None:
        if self.method not in ("guided", "upsample"):
            raise ValueError(f"refine.method must be 'guided' or 'upsample', not {self.method!r}")
        if self.upsample not in ("linear", "cubic"):
            raise ValueError(f"refine.upsample must be 'linear' or 'cubic', not {self.upsample!r}")
        if self.work_side < 16 or self.radius < 0 or self.eps <= 0:
            raise ValueError("refine needs work_side >= 16, radius >= 0 and eps > 0")
        lo, hi = self.stretch
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"refine.stretch must be [lo, hi] with 0 <= lo < hi <= 1, not {list(self.stretch)}")


def resize(x: np.ndarray, width: int, height: int, how: str = "linear") -> np.ndarray:
    if x.shape[1] == width and x.shape[0] == height:
        return x
    return cv2.resize(x, (width, height), interpolation=_INTERP[how])


def box(x: np.ndarray, radius: int) -> np.ndarray:
    k = 2 * radius + 1
    return cv2.boxFilter(x, -1, (k, k), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int,
                        eps: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Colour guided filter (He et al. 2013): per-pixel ``a`` (3 planes) and ``b``, already
    box-averaged, such that the filtered map is ``a[0] r + a[1] g + a[2] b + b``."""
    ch = [np.ascontiguousarray(guide[..., c]) for c in range(3)]
    mean_i = [box(c, radius) for c in ch]
    mean_p = box(src, radius)
    cov = [box(c * src, radius) - m * mean_p for c, m in zip(ch, mean_i)]

    def var(i: int, j: int) -> np.ndarray:
        v: np.ndarray = box(ch[i] * ch[j], radius) - mean_i[i] * mean_i[j]
        return v + np.float32(eps) if i == j else v

    rr, rg, rb, gg, gb, bb = var(0, 0), var(0, 1), var(0, 2), var(1, 1), var(1, 2), var(2, 2)
    # the symmetric 3x3 system solved in closed form (adjugate / determinant), plane by plane
    i_rr, i_rg, i_rb = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb
    i_gg, i_gb, i_bb = rr * bb - rb * rb, rb * rg - rr * gb, rr * gg - rg * rg
    det = rr * i_rr + rg * i_rg + rb * i_rb
    a_r = (i_rr * cov[0] + i_rg * cov[1] + i_rb * cov[2]) / det
    a_g = (i_rg * cov[0] + i_gg * cov[1] + i_gb * cov[2]) / det
    a_b = (i_rb * cov[0] + i_gb * cov[1] + i_bb * cov[2]) / det
    b = mean_p - a_r * mean_i[0] - a_g * mean_i[1] - a_b * mean_i[2]
    return [box(a_r, radius), box(a_g, radius), box(a_b, radius)], box(b, radius)


def calibrate(alpha: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if lo == 0.0 and hi == 1.0:
        return np.clip(alpha, 0.0, 1.0, out=alpha)
    alpha -= np.float32(lo)
    alpha *= np.float32(1.0 / (hi - lo))
    return np.clip(alpha, 0.0, 1.0, out=alpha)


def refine_alpha(rgb: np.ndarray, prob: np.ndarray, params: RefineParams | None = None) -> np.ndarray:
    """Full-resolution alpha (float32 HxW in [0, 1]) from the model map ``prob`` (any size)."""
    p = params or RefineParams()
    h, w = rgb.shape[:2]
    prob = prob.astype(np.float32, copy=False)
    if p.method == "upsample" or p.radius == 0:
        alpha = resize(prob, w, h, p.upsample)
        return calibrate(alpha, *p.stretch)
    scale = min(1.0, p.work_side / max(h, w))
    ww, wh = max(1, round(w * scale)), max(1, round(h * scale))
    src = resize(prob, ww, wh, p.upsample)
    guide = resize(rgb, ww, wh, "area").astype(np.float32) * np.float32(1 / 255)
    a, b = guided_coefficients(guide, src, p.radius, p.eps)
    full = (ww, wh) == (w, h)
    # alpha = a . rgb / 255 + b at full resolution, one plane at a time: at most three full-size
    # float planes are alive at once (about 430 MB at 36 MP)
    alpha = b if full else resize(b, w, h)
    for c in range(3):
        plane = rgb[..., c].astype(np.float32)
        coef = a[c] * np.float32(1 / 255)
        plane *= coef if full else resize(coef, w, h)
        alpha += plane
        del plane
    return calibrate(alpha, *p.stretch)
