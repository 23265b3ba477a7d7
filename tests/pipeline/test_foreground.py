"""estimate_foreground: where alpha is partial, the colour shown is the subject's, not the old background's."""
from __future__ import annotations

import numpy as np
import pytest

from bgremover.pipeline.foreground import ForegroundParams, estimate_foreground

WHITE = np.array([250, 250, 250], np.float32)
GREEN = np.array([20, 180, 40], np.float32)


def haloed_scene(h: int = 200, w: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """A white square with a 12-pixel soft edge (like fur) photographed on a green lawn."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = np.minimum.reduce([xx - 80, 220 - xx, yy - 50, 150 - yy])
    alpha = np.clip(dist / 12 + 0.5, 0, 1).astype(np.float32)
    img = WHITE * alpha[..., None] + GREEN * (1 - alpha[..., None])
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), alpha


@pytest.mark.parametrize("work_side", [1024, 128])
def test_green_halo_is_removed_from_a_white_subjects_soft_edge(work_side):
    rgb, alpha = haloed_scene()
    fg = estimate_foreground(rgb, alpha, ForegroundParams(work_side=work_side))
    band = (alpha > 0.1) & (alpha < 0.9)
    halo_before = np.abs(rgb[band].astype(np.float32) - WHITE).mean()
    halo_after = np.abs(fg[band].astype(np.float32) - WHITE).mean()
    assert halo_before > 40
    assert halo_after < 0.25 * halo_before, (halo_before, halo_after)


def test_opaque_and_transparent_pixels_keep_the_photos_colour():
    rgb, alpha = haloed_scene()
    fg = estimate_foreground(rgb, alpha)
    solid = (alpha == 1) | (alpha == 0)
    assert fg.dtype == np.uint8 and fg.shape == rgb.shape
    assert np.array_equal(fg[solid], rgb[solid])


def test_method_none_returns_the_photo():
    rgb, alpha = haloed_scene()
    assert estimate_foreground(rgb, alpha, ForegroundParams(method="none")) is rgb


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="foreground.method"):
        ForegroundParams(method="magic")
