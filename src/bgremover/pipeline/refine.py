"""Low-resolution probability map to a full-resolution alpha matte, guided by the photo."""
from __future__ import annotations

import cv2
import numpy as np


def upsample(prob: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.resize(prob.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter (grey guide), with box filters: edge-aware smoothing of ``src``."""
    ksize = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, ksize, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def refine_alpha(rgb: np.ndarray, prob: np.ndarray, *, radius: int = 8, eps: float = 1e-3) -> np.ndarray:
    h, w = rgb.shape[:2]
    alpha = upsample(prob, w, h)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    alpha = guided_filter(grey, alpha, radius, eps)
    return np.clip(alpha, 0.0, 1.0)
