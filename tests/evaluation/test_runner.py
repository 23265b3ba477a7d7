"""Scoring a set gives the reference scorer's numbers (shared/eval/evalcut.py), item by item, overall
and by dataset, on the same predictions: synthetic ones here, u2netp's and perturbed GT on the dev set."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from bgremover.evaluation.aggregate import compare, strip_private
from bgremover.evaluation.dataset import EvalSet, load_eval_set
from bgremover.evaluation.runner import run_preset, score_predictions
from bgremover.evaluation.synthetic import write_synthetic_set

EVALCUT = Path(__file__).resolve().parents[3] / "shared" / "eval" / "evalcut.py"
IGNORED = {"seconds", "set", "pred", "label", "missing_policy", "model", "matte_seconds", "by"}


@pytest.fixture(scope="module")
def evalcut() -> Any:
    if not EVALCUT.is_file():
        pytest.skip(f"reference scorer not present at {EVALCUT}")
    spec = importlib.util.spec_from_file_location("evalcut", EVALCUT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def synthetic(tmp_path: Path) -> EvalSet:
    return load_eval_set(write_synthetic_set(tmp_path / "set"))


def assert_same_numbers(ours: Any, ref: Any, path: str = "") -> None:
    """Every field of the reference result is in ours with the same value (floats to 1e-12 relative)."""
    if isinstance(ref, dict):
        for k, v in ref.items():
            if k in IGNORED:
                continue
            assert k in ours, f"{path}/{k} missing"
            assert_same_numbers(ours[k], v, f"{path}/{k}")
    elif isinstance(ref, list):
        assert len(ours) == len(ref), path
        for i, (a, b) in enumerate(zip(ours, ref)):
            assert_same_numbers(a, b, f"{path}[{i}]")
    elif isinstance(ref, float) and ref is not None:
        assert ours == pytest.approx(ref, rel=1e-12, abs=1e-15), path
    else:
        assert ours == ref, path


def write_predictions(eval_set: EvalSet, out: Path, seed: int = 0, shift: int = 0) -> Path:
    """Plausible and awkward predictions: blurred and shifted GT as RGBA, L, LA, 16-bit and constant
    PNGs, then one of the wrong size and one missing (variant = (index + shift) % 7)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, item in enumerate(eval_set.items):
        gt = item.load_gt().astype(np.float32)
        a = np.roll(cv2.GaussianBlur(gt, (0, 0), 1 + i % 4), (i % 3) * 3, axis=1)
        a = np.clip(a + rng.normal(0, 0.04, a.shape), 0, 1)
        a8 = np.round(a * 255).astype(np.uint8)
        path = out / f"{item.name}.png"
        variant = (i + shift) % 7
        if variant == 0:
            rgb = rng.integers(0, 256, (*a8.shape, 3), dtype=np.uint8)
            Image.fromarray(np.dstack([rgb, a8])).save(path)
        elif variant == 1:
            Image.fromarray(a8).save(path)
        elif variant == 2:
            Image.merge("LA", [Image.fromarray(a8), Image.fromarray(a8)]).save(path)
        elif variant == 3:
            Image.fromarray(np.round(a * 65535).astype(np.uint16)).save(path)
        elif variant == 4:
            Image.fromarray(np.full_like(a8, 77)).save(path)  # constant: min-max cannot normalise it
        elif variant == 5:
            Image.fromarray(a8[:, :-1]).save(path)  # wrong size
        # variant 6: missing
    return out


@pytest.mark.parametrize("missing", ["zero", "skip"])
@pytest.mark.parametrize("shift", [0, 5])  # the five items get variants 0-4, then 5, 6, 0, 1, 2
def test_scores_equal_the_reference_scorer_on_synthetic_predictions(synthetic, tmp_path, evalcut, missing, shift):
    preds = write_predictions(synthetic, tmp_path / "preds", shift=shift)
    ours = score_predictions(synthetic, preds, missing=missing, by="dataset").to_json()
    ref = strip_private(evalcut.evaluate(str(synthetic.root), str(preds), missing=missing, by="dataset"))
    assert_same_numbers(ours, ref)
    assert set(ours["groups"]) == {"shapes (generated)", "soft edges (generated)"}


def test_missing_and_wrongly_sized_predictions_count_as_transparent(synthetic, tmp_path):
    preds = write_predictions(synthetic, tmp_path / "preds", shift=5)  # item 0: wrong size, item 1: missing
    res = score_predictions(synthetic, preds)
    wrong, missing = res.rows[0], res.rows[1]
    assert wrong["flag"].startswith("size 127x96") and missing["flag"] == "missing"
    for row, item in ((wrong, synthetic.items[0]), (missing, synthetic.items[1])):
        assert row["scored"] and row["MAE_raw"] == pytest.approx(item.load_gt().mean())
    assert [r["name"] for r in res.rows if r.get("flag")] == [wrong["name"], missing["name"]]
    skipped = score_predictions(synthetic, preds, missing="skip")
    assert skipped.aggregate["n_scored"] == len(synthetic) - 2 and skipped.aggregate["n_flagged"] == 2


def test_paired_comparison_equals_the_reference_scorers(synthetic, tmp_path, evalcut):
    a = write_predictions(synthetic, tmp_path / "a", seed=1)
    b = write_predictions(synthetic, tmp_path / "b", seed=2)
    ours = compare(score_predictions(synthetic, a).rows, score_predictions(synthetic, b).rows)
    ref = evalcut.compare(evalcut.evaluate(str(synthetic.root), str(a)), evalcut.evaluate(str(synthetic.root), str(b)))
    assert ours["wins"] == ref["wins"]
    assert_same_numbers(ours["items"], ref["items"])


def test_a_preset_run_saves_rgba_at_photo_size_and_scores_what_it_saved(synthetic, tmp_path, remover, evalcut):
    saved = tmp_path / "fast"
    run = run_preset(synthetic, remover, "bg-remover-fast", save_dir=saved, by="dataset")
    for item in synthetic.items:
        with Image.open(saved / f"{item.name}.png") as im, Image.open(item.photo_path) as photo:
            assert im.mode == "RGBA" and im.size == photo.size
    ref = strip_private(evalcut.evaluate(str(synthetic.root), str(saved), by="dataset"))
    assert_same_numbers(run.to_json(), ref)
    # u2netp finds the high-contrast disc: a real signal, not noise
    disc = run.row("shape_disc")
    assert disc["maxF"] > 0.8 and disc["MAE_raw"] < 0.15


@pytest.mark.slow
def test_dev_set_scores_equal_the_reference_scorer(dev_set, tmp_path, evalcut):
    full = load_eval_set(dev_set)
    preds = write_predictions(full, tmp_path / "preds")
    ours = score_predictions(full, preds, by="dataset").to_json()
    ref = strip_private(evalcut.evaluate(str(dev_set), str(preds), by="dataset"))
    assert_same_numbers(ours, ref)
    assert len(ours["groups"]) == 5 and ours["aggregate"]["n"] == len(full)


@pytest.mark.slow
def test_u2netp_on_dev_items_scores_equal_the_reference_scorer(dev_set, tmp_path, remover, evalcut):
    full = load_eval_set(dev_set)
    first_of_each: dict[str, str] = {}
    for item in full.items:
        first_of_each.setdefault(item.field("dataset"), item.name)
    subset = full.subset(names=set(first_of_each.values()))
    saved = tmp_path / "u2netp"
    run = run_preset(subset, remover, "bg-remover-fast", save_dir=saved, by="dataset")
    ref = strip_private(evalcut.evaluate(str(dev_set), str(saved), only=set(first_of_each.values()), by="dataset"))
    assert_same_numbers(run.to_json(), ref)
    assert run.aggregate["n_flagged"] == 0 and len(run.groups) == 5
