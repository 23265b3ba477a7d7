"""Before and after the model: the output-size cap, the region of interest, and the layout step."""
from __future__ import annotations

import numpy as np

from bgremover.imaging.compose import subject_box
from bgremover.pipeline.framing import lay_out, matte_within, shrink


def two_balls(h: int = 160, w: int = 320) -> np.ndarray:
    """Two red balls on a grey wall, one in each half."""
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.full((h, w, 3), 170, np.uint8)
    for cx in (w // 4, 3 * w // 4):
        rgb[(yy - h // 2) ** 2 + (xx - cx) ** 2 < (h // 4) ** 2] = (200, 30, 30)
    return rgb


def test_shrink_caps_megapixels_and_scales_the_region_with_the_photo():
    rgb = np.zeros((1600, 2400, 3), np.uint8)
    alpha = np.full((1600, 2400), 255, np.uint8)
    small, small_alpha, roi = shrink(rgb, alpha, (1200, 0, 2400, 1600), 0.25)
    assert small.shape == (408, 612, 3) and small_alpha.shape == (408, 612)
    assert roi == (306, 0, 612, 408)
    same, _, roi = shrink(rgb, None, None, None)
    assert same is rgb and roi is None


def test_the_region_of_interest_keeps_one_of_two_subjects(remover):
    rgb = two_balls()
    preset = remover.preset("bg-remover-fast")
    both = matte_within(rgb, None, preset, remover.registry).alpha
    assert both[80, 80] > 0.5 and both[80, 240] > 0.5
    left = matte_within(rgb, (0, 0, 160, 160), preset, remover.registry)
    assert left.alpha[80, 80] > 0.5 and left.alpha[:, 160:].max() == 0
    assert left.foreground.shape == rgb.shape


def test_lay_out_crops_or_places():
    fg = np.zeros((100, 200, 3), np.uint8)
    alpha = np.zeros((100, 200), np.float32)
    alpha[30:50, 60:100] = 1
    _, cropped = lay_out(fg, alpha, crop=True, crop_margin="5px", scale=None, position=None)
    assert cropped.shape == (30, 50)
    _, placed = lay_out(fg, alpha, crop=False, crop_margin=0, scale=None, position="100% 0%")
    assert subject_box(placed) == (0, 20, 160, 200)
    assert lay_out(fg, alpha, crop=False, crop_margin=0, scale=None, position=None)[1] is alpha
