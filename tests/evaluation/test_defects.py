"""Holes and ghosts: whole regions a customer sees, never the soft edge between them.

The 100 x 100 image has a diagonal of 141.4 px: 1 % is 1.4, so the regions shrink by the minimum, 3 px.
Its left half (columns 0-49) is opaque, its right half (50-99) background: shrunk, columns 0-46
(47 x 100 = 4700 px) and 53-99 (4700 px) remain; the image border does not shrink them.
"""
from __future__ import annotations

import numpy as np
import pytest

from bgremover.evaluation.defects import defect_scores, shrink, shrink_radius
from bgremover.evaluation.metrics import score_item


@pytest.fixture
def gt() -> np.ndarray:
    g = np.zeros((100, 100))
    g[:, :50] = 1.0
    return g


def test_the_regions_shrink_by_one_percent_of_the_diagonal_and_at_least_three_pixels():
    assert shrink_radius(100, 100) == 3
    assert shrink_radius(960, 1280) == 16  # diagonal 1600
    assert shrink_radius(10, 10) == 3


def test_shrinking_ignores_the_image_border(gt):
    kept = shrink(gt >= 0.95, 3)
    assert kept.sum() == 4700 and kept[:, :47].all() and not kept[:, 47:].any()


def test_a_perfect_cut_out_has_no_holes_and_no_ghosts(gt):
    assert defect_scores(gt, gt) == {"holes": 0.0, "ghosts": 0.0}


def test_holes_and_ghosts_count_whole_regions_only(gt):
    pred = gt.copy()
    pred[10:20, 10:20] = 0.5  # a see-through patch of 100 px in the subject
    pred[30:32, 20:30] = 0.9  # 20 px at exactly 0.9: not below 0.9, not a hole
    pred[0:20, 80:100] = 0.2  # a ghost of 400 px in the background
    pred[50:60, 60:70] = 0.1  # 100 px at exactly 0.1: not above 0.1, not a ghost
    pred[:, 47:53] = 0.5      # the edge band (columns 47-52) is forgiven whatever it is
    got = defect_scores(pred, gt)
    assert got["holes"] == pytest.approx(100 / 4700, abs=1e-15)
    assert got["ghosts"] == pytest.approx(400 / 4700, abs=1e-15)


def test_an_inverted_cut_out_is_all_holes_and_all_ghosts(gt):
    assert defect_scores(1.0 - gt, gt) == {"holes": 1.0, "ghosts": 1.0}


def test_a_photo_without_background_has_no_ghost_value():
    full = np.ones((40, 60))
    assert defect_scores(full * 0.5, full) == {"holes": 1.0, "ghosts": None}


def test_soft_gt_pixels_are_neither_opaque_nor_background():
    g = np.full((100, 100), 0.5)  # a veil: alpha 0.5 everywhere
    assert defect_scores(np.zeros_like(g), g) == {"holes": None, "ghosts": None}


def test_every_item_of_either_kind_gets_both_numbers(gt):
    for kind in ("mask", "alpha"):
        scores = score_item(kind, np.clip(gt + 0.3 * (gt == 0), 0, 1), gt)
        assert scores["holes"] == 0.0 and scores["ghosts"] == 1.0, kind
