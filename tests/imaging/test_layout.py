"""Lengths, regions, margins, scaling and positioning on plain arrays: the rules remove.bg-style options follow."""
from __future__ import annotations

import numpy as np
import pytest

from bgremover.imaging.compose import subject_box
from bgremover.imaging.layout import (crop_to_subject, fit_megapixels, margin_pixels, parse_length, parse_position,
                                      parse_scale, place_subject, roi_box)


def scene(h: int = 100, w: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A 20 x 40 opaque subject at rows 30-50, columns 60-100, on nothing."""
    alpha = np.zeros((h, w), np.float32)
    alpha[30:50, 60:100] = 1.0
    fg = np.zeros((h, w, 3), np.uint8)
    fg[30:50, 60:100] = (200, 10, 10)
    return fg, alpha


def test_lengths_are_pixels_or_percent():
    assert parse_length("30px") == (30, False) and parse_length("30") == (30, False)
    assert parse_length("12.5%") == (0.125, True)
    for bad in ("", "-3px", "3em", "px", "10 %x"):
        with pytest.raises(ValueError):
            parse_length(bad)


def test_roi_in_pixels_or_percent_clipped_to_the_image():
    assert roi_box("0% 0% 50% 100%", 200, 100) == (0, 0, 100, 100)
    assert roi_box("10px 20px 300px 90px", 200, 100) == (10, 20, 200, 90)
    with pytest.raises(ValueError, match="holds no pixels"):
        roi_box("50% 0% 50% 100%", 200, 100)
    with pytest.raises(ValueError, match="four lengths"):
        roi_box("0 0 10", 200, 100)


def test_margins_one_two_or_four_values_capped_at_half_the_subject_or_500px():
    assert margin_pixels("10px", 40, 20) == (10, 10, 10, 10)
    assert margin_pixels("10% 5px", 40, 20) == (2, 5, 2, 5)  # top/bottom of the height, left/right given
    assert margin_pixels("1px 2px 3px 4px", 40, 20) == (1, 2, 3, 4)
    assert margin_pixels("90%", 40, 20) == (10, 20, 10, 20)  # capped at 50 % of the subject
    assert margin_pixels("900px", 4000, 4000) == (500,) * 4
    with pytest.raises(ValueError):
        margin_pixels("1px 2px 3px", 40, 20)


def test_crop_with_a_margin_text_pads_past_the_image_edge():
    fg, alpha = scene()
    fg, alpha = fg[25:], alpha[25:]  # the subject now starts 5 rows from the top
    _, a = crop_to_subject(fg, alpha, "40px")  # capped at half the subject: 10 px above and below, 20 at the sides
    assert a.shape == (20 + 2 * 10, 40 + 2 * 20)  # 10 px above reaches past the top: padded, transparent
    assert subject_box(a) == (10, 30, 20, 60)
    _, a = crop_to_subject(fg, alpha, 5)  # a pixel margin, as the native API has always had
    assert a.shape == (30, 50)


def test_scale_and_position_parse_remove_bg_values():
    assert parse_scale("original") is None and parse_scale("50%") == 0.5
    for bad in ("5%", "101%", "50px", "half"):
        with pytest.raises(ValueError):
            parse_scale(bad)
    assert parse_position("center") == (0.5, 0.5) and parse_position("original") is None
    assert parse_position("0%") == (0.0, 0.0) and parse_position("25% 100%") == (0.25, 1.0)
    with pytest.raises(ValueError):
        parse_position("10px 10px")


def test_place_subject_moves_and_scales_its_box_exactly():
    fg, alpha = scene()
    _, moved = place_subject(fg, alpha, None, (0.0, 1.0))
    assert subject_box(moved) == (80, 100, 0, 40)  # bottom-left, same size
    f, scaled = place_subject(fg, alpha, 0.5, (0.5, 0.5))
    t, b, left, right = subject_box(scaled)
    assert abs((right - left) - 100) <= 2 and abs((b - t) - 50) <= 2  # 2.5x: half the canvas (both sides tie)
    assert abs((left + right) / 2 - 100) <= 1 and abs((t + b) / 2 - 50) <= 1
    _, small = place_subject(fg, alpha, 0.1, None)  # scaled in place, about its own centre
    t, b, left, right = subject_box(small)
    assert abs((right - left) - 20) <= 1 and abs((left + right) / 2 - 80) <= 1 and abs((t + b) / 2 - 40) <= 1
    assert tuple(f[50, 100]) == (200, 10, 10)
    assert place_subject(fg, alpha, None, None)[1] is alpha


def test_fit_megapixels_never_enlarges():
    assert fit_megapixels(2400, 1600, 0.25) == (612, 408)
    assert fit_megapixels(960, 640, 4.0) == (960, 640)
    assert fit_megapixels(960, 640, None) == (960, 640)


def test_a_faint_edge_the_stored_matte_keeps_moves_with_the_subject_and_the_reported_box_keeps_its_size():
    """A column at alpha 0.0499 is stored as 13/255, above the 5 % the X-Foreground-* headers count: placement must
    count it too, or a move to the canvas edge pushes it off and the reported width shrinks by one pixel."""
    from bgremover.imaging.compose import foreground_box, to_alpha8

    fg, alpha = scene()
    t, b, left, right = subject_box(alpha)
    alpha[t:b, left - 1] = 0.0499
    before = foreground_box(to_alpha8(alpha))
    _, moved = place_subject(fg, alpha, None, (0.0, 1.0))
    after = foreground_box(to_alpha8(moved))
    assert after[1] == 0 and after[0] + after[3] == alpha.shape[0]  # bottom-left
    assert after[2:] == before[2:]  # same width and height as the headers reported before the move
