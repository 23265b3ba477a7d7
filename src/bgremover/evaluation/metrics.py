"""Per-item quality metrics, defined exactly as the reference scorer ``evalcut.py`` defines them.

Both inputs are float64 alphas in [0, 1] of the same shape.

* ``kind="mask"`` (salient-object convention): pysodmetrics' MAE, max F-measure curve (beta² 0.3),
  S-measure and weighted F-measure, on the prediction min-max normalised and the GT binarised at
  > 128/255, which is what pysodmetrics' own ``prepare_data`` does to uint8 inputs.
* ``kind="alpha"`` (matting convention, every pixel counts, no normalisation): SAD/1000, MSE×1000,
  DIM's gradient error (sigma 1.4) /1000, and MAE.
* every item: ``MAE_raw``, the plain mean absolute difference, so one number spans both kinds, and
  ``holes`` and ``ghosts`` (``defects.py``), what a customer sees first.
"""
from __future__ import annotations

import math
import warnings
from functools import lru_cache
from typing import Any

import numpy as np
import py_sod_metrics as psm
from scipy.ndimage import convolve1d

from bgremover.evaluation.defects import defect_scores

MASK_KEYS = ("MAE", "maxF", "Sm", "wF")
ALPHA_KEYS = ("SAD", "MSE", "Grad", "MAE")
LOWER_BETTER = frozenset({"MAE", "MAE_raw", "SAD", "MSE", "Grad", "holes", "ghosts"})
GT_THRESHOLD = 128.0 / 255.0


def prepare_mask(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pysodmetrics' ``prepare_data`` on float input: min-max normalise pred, binarise GT at 128."""
    gt_b = gt > GT_THRESHOLD
    p = pred.astype(np.float64)
    lo, hi = p.min(), p.max()
    if hi != lo:
        p = (p - lo) / (hi - lo)
    return p, gt_b


def _step(metric: Any, p: np.ndarray, g: np.ndarray) -> dict[str, Any]:
    metric.step(p, g, normalize=False)
    return metric.get_results()


def mask_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, Any]:
    """MAE, maxF, Sm, wF, and the F-curve (thresholds 255..0) that the set-level maxF averages."""
    p, g = prepare_mask(pred, gt)
    with warnings.catch_warnings():  # Fmeasure is deprecated upstream in favour of FmeasureV2; same numbers
        warnings.simplefilter("ignore")
        fm = psm.Fmeasure()
    curve = np.asarray(_step(fm, p, g)["fm"]["curve"], dtype=np.float64)
    return {
        "MAE": float(_step(psm.MAE(), p, g)["mae"]),
        "maxF": float(curve.max()),
        "Sm": float(_step(psm.Smeasure(), p, g)["sm"]),
        "wF": float(_step(psm.WeightedFmeasure(), p, g)["wfm"]),
        "_fcurve": curve,
    }


@lru_cache(maxsize=4)
def dim_gauss_kernels(sigma: float = 1.4) -> tuple[np.ndarray, np.ndarray]:
    """Separable factors of DIM's ``gaussgradient`` kernel: gauss(i) * dgauss(j), L2-normalised."""
    eps = 1e-2
    half = int(math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * eps))))
    u = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-u ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    dg = -u * g / sigma ** 2
    norm = math.sqrt(float(np.sum(np.abs(np.outer(g, dg)) ** 2)))
    return g, dg / norm


def gradient_magnitude(a: np.ndarray, sigma: float = 1.4) -> np.ndarray:
    """|grad a| with DIM's derivative-of-Gaussian filters; replicate border, true convolution."""
    g, dg = dim_gauss_kernels(sigma)
    gx = convolve1d(convolve1d(a, g, axis=0, mode="nearest"), dg, axis=1, mode="nearest")
    gy = convolve1d(convolve1d(a, dg, axis=0, mode="nearest"), g, axis=1, mode="nearest")
    return np.sqrt(gx * gx + gy * gy)


def gradient_error(pred: np.ndarray, gt: np.ndarray, sigma: float = 1.4) -> float:
    d = gradient_magnitude(pred, sigma) - gradient_magnitude(gt, sigma)
    return float(np.sum(d * d) / 1000.0)


def alpha_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, Any]:
    d = pred - gt
    return {
        "SAD": float(np.sum(np.abs(d)) / 1000.0),
        "MSE": float(np.mean(d * d) * 1000.0),
        "Grad": gradient_error(pred, gt),
        "MAE": float(np.mean(np.abs(d))),
    }


def score_item(kind: str, pred: np.ndarray, gt: np.ndarray) -> dict[str, Any]:
    """All metrics of one item; keys starting with ``_`` are intermediate (not for reports)."""
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    pred = pred.astype(np.float64, copy=False)
    gt = gt.astype(np.float64, copy=False)
    res: dict[str, Any] = {"MAE_raw": float(np.mean(np.abs(pred - gt)))}
    res.update(mask_scores(pred, gt) if kind == "mask" else alpha_scores(pred, gt))
    res.update(defect_scores(pred, gt))
    return res


def is_better(key: str, delta: float) -> bool:
    """Whether a change of ``delta`` (B - A) in metric ``key`` is an improvement."""
    return delta < 0 if key in LOWER_BETTER else delta > 0
