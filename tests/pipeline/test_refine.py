"""refine_alpha: a low-resolution map becomes a full-resolution alpha that follows the photo's edges."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgremover.pipeline.refine import RefineParams, calibrate, refine_alpha


def disc_scene(h: int = 300, w: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """An orange disc, edges anti-aliased over one pixel, on a blue-grey textured wall: (RGB, true alpha)."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    alpha = np.clip(0.35 * h - np.hypot(yy - h / 2, xx - w / 2) + 0.5, 0, 1)
    wall = np.array([90, 110, 140], np.float32) + rng.normal(0, 6, (h, w, 3)).astype(np.float32)
    disc = np.array([235, 140, 40], np.float32) + rng.normal(0, 6, (h, w, 3)).astype(np.float32)
    img = wall * (1 - alpha[..., None]) + disc * alpha[..., None]
    return np.clip(img, 0, 255).astype(np.uint8), alpha


def model_like_map(alpha: np.ndarray, size: int = 64) -> np.ndarray:
    """What a segmentation model gives: the truth at low resolution, blurred, a little off in level."""
    low = cv2.resize(alpha, (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(cv2.GaussianBlur(low, (0, 0), 0.5) * 0.95 + 0.02, 0, 1).astype(np.float32)


def edge_error(alpha: np.ndarray, truth: np.ndarray) -> float:
    """Mean |alpha - truth| within 7 pixels of the true edge."""
    inside = (truth > 0.5).astype(np.uint8)
    band = (cv2.dilate(inside, np.ones((15, 15))) - cv2.erode(inside, np.ones((15, 15)))).astype(bool)
    return float(np.abs(alpha - truth)[band].mean())


@pytest.mark.parametrize("params, at_most", [
    (RefineParams(), 0.9),  # the shipped defaults: a small window, at full resolution for this photo
    (RefineParams(radius=8, eps=1e-4, work_side=200), 0.6),  # a wide window at half resolution
])
def test_guided_refinement_recovers_a_soft_edge_better_than_plain_upsampling(params, at_most):
    rgb, truth = disc_scene()
    prob = model_like_map(truth)
    plain = edge_error(refine_alpha(rgb, prob, RefineParams(method="upsample", upsample="linear")), truth)
    guided = edge_error(refine_alpha(rgb, prob, params), truth)
    assert guided < at_most * plain, (guided, plain)


@pytest.mark.parametrize("work_side", [64, 640])
def test_alpha_has_the_photo_size_and_stays_in_range(work_side):
    rgb, truth = disc_scene(123, 321)
    prob = model_like_map(truth) * 1.3 - 0.1  # deliberately outside [0, 1]
    alpha = refine_alpha(rgb, prob, RefineParams(work_side=work_side))
    assert alpha.shape == (123, 321) and alpha.dtype == np.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0


def test_known_subject_and_background_pixels_are_kept():
    rgb, truth = disc_scene()
    alpha = refine_alpha(rgb, model_like_map(truth), RefineParams())
    assert alpha[150, 200] > 0.95  # the disc's centre
    assert alpha[5, 5] < 0.05 and alpha[295, 395] < 0.05  # the wall's corners


def test_stretch_maps_lo_to_zero_and_hi_to_one():
    x = np.array([0.0, 0.1, 0.5, 0.9, 1.0], np.float32)
    assert calibrate(x.copy(), 0.1, 0.9).tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])
    assert calibrate(x.copy(), 0.0, 1.0).tolist() == pytest.approx(x.tolist())


@pytest.mark.parametrize("bad", [dict(method="bilateral"), dict(upsample="lanczos"), dict(radius=-1),
                                 dict(eps=0.0), dict(stretch=(0.6, 0.4)), dict(work_side=4)])
def test_bad_parameters_are_refused_with_the_parameter_named(bad):
    with pytest.raises(ValueError, match="refine"):
        RefineParams(**bad)
