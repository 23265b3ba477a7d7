"""matte_band: the uncertain band of a soft alpha is re-solved along the photo's colour lines."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgremover.pipeline.matting import MattingParams, matte_band, trimap_of


def disc_photo(h: int = 120, w: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """A green disc on a magenta wall, and its true (anti-aliased) alpha."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    alpha = np.clip(35 - np.hypot(yy - h / 2, xx - w / 2) + 0.5, 0, 1)
    fg, bg = np.array([30, 200, 40], np.float32), np.array([200, 30, 190], np.float32)
    img = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), alpha


def test_the_trimap_marks_sure_pixels_and_a_widened_unknown_band():
    a = np.array([[0.0, 0.0, 0.5, 1.0, 1.0, 1.0]], np.float32)
    t = trimap_of(np.repeat(a, 3, axis=0), (0.05, 0.95), widen=1)
    assert list(t[1]) == [0.0, 0.5, 0.5, 0.5, 1.0, 1.0]
    assert list(trimap_of(np.repeat(a, 3, axis=0), (0.05, 0.95), widen=0)[1]) == [0, 0, 0.5, 1, 1, 1]


def test_a_blurred_alpha_is_pulled_back_to_the_photos_edge():
    rgb, truth = disc_photo()
    blurred = cv2.GaussianBlur(truth, (0, 0), 3.0)  # what an upsampled saliency map looks like
    out = matte_band(rgb, blurred.copy(), MattingParams(method="closed_form", work_side=160, widen=2))
    assert np.abs(out - truth).mean() < 0.5 * np.abs(blurred - truth).mean()
    assert out.dtype == np.float32 and 0.0 <= out.min() and out.max() <= 1.0


def test_mix_applies_that_share_of_the_solvers_change_and_sure_pixels_stay():
    rgb, truth = disc_photo()
    blurred = cv2.GaussianBlur(truth, (0, 0), 3.0)
    full = matte_band(rgb, blurred.copy(), MattingParams(method="closed_form", work_side=160))
    half = matte_band(rgb, blurred.copy(), MattingParams(method="closed_form", work_side=160, mix=0.5))
    np.testing.assert_allclose(half - blurred, 0.5 * (full - blurred), atol=0.02)
    sure = (blurred <= 0.01) | (blurred >= 0.99)
    sure = cv2.erode(sure.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    np.testing.assert_array_equal(full[sure], blurred[sure])


def test_off_or_nothing_uncertain_leaves_the_alpha_alone():
    rgb, truth = disc_photo()
    hard = (truth > 0.5).astype(np.float32)
    assert matte_band(rgb, hard.copy(), MattingParams(method="closed_form")).tolist() == hard.tolist()
    soft = cv2.GaussianBlur(truth, (0, 0), 3.0)
    assert matte_band(rgb, soft.copy(), MattingParams()).tolist() == soft.tolist()


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="matting.method"):
        MattingParams(method="knn")
    with pytest.raises(ValueError, match="mix"):
        MattingParams(mix=1.5)
