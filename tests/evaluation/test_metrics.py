"""Per-item metrics: known answers on constructed cases, and pysodmetrics' own numbers on the mask side."""
from __future__ import annotations

import warnings

import numpy as np
import py_sod_metrics as psm
import pytest

from bgremover.evaluation.metrics import gradient_error, is_better, mask_scores, score_item


def disc(h: int = 60, w: int = 80, r: float = 18.0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return ((yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= r * r).astype(np.float64)


def soft(a: np.ndarray) -> np.ndarray:
    """A blurred, 8-bit-quantised version of ``a``, as a real prediction would be."""
    import cv2

    return np.round(cv2.GaussianBlur(a, (0, 0), 2.0) * 255) / 255


def test_a_perfect_mask_scores_perfectly():
    gt = disc()
    r = score_item("mask", gt.copy(), gt)
    assert r["MAE_raw"] == 0 and r["MAE"] == 0
    assert r["maxF"] == pytest.approx(1.0) and r["Sm"] == pytest.approx(1.0)
    assert r["wF"] == pytest.approx(1.0, abs=1e-9)


def test_mask_metrics_normalise_the_prediction_but_MAE_raw_does_not():
    gt = disc()
    dim = 0.2 + 0.4 * gt  # right shape, wrong range: min-max normalisation makes it perfect
    r = score_item("mask", dim, gt)
    assert r["MAE"] == pytest.approx(0.0, abs=1e-12)
    assert r["MAE_raw"] == pytest.approx(np.mean(np.abs(dim - gt)))
    assert r["MAE_raw"] > 0.2


def test_a_worse_mask_scores_worse_on_every_metric():
    gt = disc()
    good, bad = score_item("mask", soft(gt), gt), score_item("mask", soft(np.roll(gt, 12, axis=1)), gt)
    for key in ("MAE_raw", "MAE", "maxF", "Sm", "wF"):
        assert is_better(key, good[key] - bad[key]), key


def test_mask_metrics_equal_pysodmetrics_on_8bit_inputs():
    rng = np.random.default_rng(1)
    gt8 = (disc() * 255).astype(np.uint8)
    pred8 = np.clip(soft(np.roll(disc(), 5, axis=0)) * 255 + rng.normal(0, 20, gt8.shape), 0, 255).astype(np.uint8)
    ours = mask_scores(pred8 / 255.0, gt8 / 255.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm, sm, wfm, mae = psm.Fmeasure(), psm.Smeasure(), psm.WeightedFmeasure(), psm.MAE()
    for m in (fm, sm, wfm, mae):
        m.step(pred8, gt8)
    assert ours["MAE"] == mae.get_results()["mae"]
    assert ours["Sm"] == sm.get_results()["sm"]
    assert ours["wF"] == wfm.get_results()["wfm"]
    np.testing.assert_array_equal(ours["_fcurve"], fm.get_results()["fm"]["curve"])
    assert ours["maxF"] == fm.get_results()["fm"]["curve"].max()


def test_alpha_metrics_of_a_constant_offset():
    gt = soft(disc()) * 0.8
    pred = gt + 0.1
    r = score_item("alpha", pred, gt)
    n = gt.size
    assert r["SAD"] == pytest.approx(0.1 * n / 1000)
    assert r["MSE"] == pytest.approx(0.01 * 1000)
    assert r["MAE"] == pytest.approx(0.1) and r["MAE_raw"] == pytest.approx(0.1)
    assert r["Grad"] == pytest.approx(0.0, abs=1e-12)  # a constant shift has the same gradients


def test_gradient_error_sees_edges_and_uses_a_replicate_border():
    gt = soft(disc())
    assert gradient_error(gt, gt) == 0.0
    assert gradient_error(disc(), gt) > 0.01  # hard edges against a soft matte
    flat = np.full((30, 40), 0.7)
    assert gradient_error(flat, np.zeros_like(flat)) == pytest.approx(0.0, abs=1e-15)  # no edge at the border


def test_shapes_must_match():
    with pytest.raises(ValueError, match="shape"):
        score_item("alpha", np.zeros((4, 5)), np.zeros((5, 4)))
