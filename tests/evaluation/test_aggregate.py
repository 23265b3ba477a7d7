"""The paired bootstrap: how sure a claim "B beats A on every headline number" is, on a set this small."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremover.evaluation.aggregate import HEADLINE, REPORTED, _headline, aggregate, bootstrap
from bgremover.evaluation.dataset import EvalSet, load_eval_set
from bgremover.evaluation.runner import score_predictions
from bgremover.evaluation.synthetic import write_synthetic_set


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> EvalSet:
    return load_eval_set(write_synthetic_set(tmp_path_factory.mktemp("set")))


def predictions(eval_set: EvalSet, out: Path, noise: float, seed: int = 0) -> Path:
    """Ground truth plus noise (0: the ground truth itself, a perfect prediction)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for item in eval_set.items:
        gt = item.load_gt()
        a = np.clip(gt + rng.normal(0, noise, gt.shape), 0, 1) if noise else gt
        Image.fromarray(np.round(a * 255).astype(np.uint8)).save(out / f"{item.name}.png")
    return out


def table_numbers(rows: list[dict]) -> dict[str, float]:
    agg = aggregate(rows)
    m, a = agg["mask"], agg["alpha"]
    return {"MAE_raw": agg["MAE_raw"], "mask MAE": m["MAE"], "maxF": m["maxF"], "Sm": m["Sm"], "wF": m["wF"],
            "SAD": a["SAD"], "MSE": a["MSE"], "Grad": a["Grad"], "holes": agg["holes"], "ghosts": agg["ghosts"]}


def test_the_bootstrap_resamples_the_same_eight_numbers_the_table_shows(synthetic, tmp_path):
    rows = score_predictions(synthetic, predictions(synthetic, tmp_path / "p", noise=0.1)).rows
    once = _headline(rows, np.ones((1, len(rows))))  # every item once: the set itself
    table = table_numbers(rows)
    assert set(once) == set(REPORTED) == set(table) and set(HEADLINE) < set(REPORTED)
    for key in HEADLINE:
        assert once[key][0] == pytest.approx(table[key], rel=1e-12), key


def copies(rows: list[dict], n: int) -> list[dict]:
    """The set ``n`` times over, under new names: big enough that every draw holds mask and alpha items."""
    return [{**r, "name": f"{r['name']}-{i}"} for i in range(n) for r in rows]


def test_a_run_better_on_every_item_is_better_in_every_resample(synthetic, tmp_path):
    noisy = score_predictions(synthetic, predictions(synthetic, tmp_path / "noisy", noise=0.15)).rows
    perfect = score_predictions(synthetic, predictions(synthetic, tmp_path / "gt", noise=0)).rows
    noisy, perfect = copies([r for r in noisy if r["name"] != "shape_none"], 10), \
        copies([r for r in perfect if r["name"] != "shape_none"], 10)  # (no subject: both score wF 0, a tie)
    boot = bootstrap(noisy, perfect, resamples=200)
    assert boot["p_better_all"] == 1.0
    assert all(m["p_better"] == 1.0 for m in boot["metrics"].values())
    assert bootstrap(perfect, noisy, resamples=200)["p_better_all"] == 0.0  # and the other way round, never


def test_a_draw_without_items_of_a_kind_does_not_count_as_better(synthetic, tmp_path):
    noisy = score_predictions(synthetic, predictions(synthetic, tmp_path / "noisy", noise=0.15)).rows
    perfect = score_predictions(synthetic, predictions(synthetic, tmp_path / "gt", noise=0)).rows
    boot = bootstrap(noisy, perfect, resamples=400)  # 5 items: some draws hold no alpha item at all
    assert boot["metrics"]["MAE_raw"]["p_better"] == 1.0
    assert 0.5 < boot["metrics"]["SAD"]["p_better"] < 1.0


def test_identical_runs_are_never_called_better_and_the_draws_are_repeatable(synthetic, tmp_path):
    rows = score_predictions(synthetic, predictions(synthetic, tmp_path / "p", noise=0.1)).rows
    same = bootstrap(rows, rows, resamples=100)
    assert same["p_better_all"] == 0.0 and all(m["p_better"] == 0.0 for m in same["metrics"].values())
    other = score_predictions(synthetic, predictions(synthetic, tmp_path / "q", noise=0.1, seed=7)).rows
    first, again = bootstrap(rows, other, resamples=300, seed=3), bootstrap(rows, other, resamples=300, seed=3)
    assert first == again
    for key, m in first["metrics"].items():  # the set's own difference lies inside its 95 % range
        delta = table_numbers(other)[key] - table_numbers(rows)[key]
        assert m["delta_lo"] - 1e-12 <= delta <= m["delta_hi"] + 1e-12, key


def test_identical_runs_give_the_interval_zero_to_zero_within_noise_and_do_not_earn_a_price(synthetic, tmp_path):
    rows = copies(score_predictions(synthetic, predictions(synthetic, tmp_path / "p", noise=0.1)).rows, 5)
    same = bootstrap(rows, rows, resamples=100)
    for key, m in same["metrics"].items():
        assert (m["delta_lo"], m["delta_hi"], m["verdict"]) == (0.0, 0.0, "within noise"), key
    assert same["worse_on"] == [] and same["better_on"] == [] and not same["earns_its_price"]
    assert set(same["metrics"]) == set(REPORTED)  # holes and ghosts are judged too


def test_a_run_better_on_every_item_is_called_better_and_the_other_way_worse(synthetic, tmp_path):
    noisy = score_predictions(synthetic, predictions(synthetic, tmp_path / "noisy", noise=0.15)).rows
    perfect = score_predictions(synthetic, predictions(synthetic, tmp_path / "gt", noise=0)).rows
    noisy, perfect = copies([r for r in noisy if r["name"] != "shape_none"], 10), \
        copies([r for r in perfect if r["name"] != "shape_none"], 10)
    up, down = bootstrap(noisy, perfect, resamples=200), bootstrap(perfect, noisy, resamples=200)
    for key in HEADLINE:
        assert up["metrics"][key]["verdict"] == "better" and down["metrics"][key]["verdict"] == "worse", key
        lo, hi = up["metrics"][key]["delta_lo"], up["metrics"][key]["delta_hi"]
        assert (hi < 0) if key in ("MAE_raw", "mask MAE", "SAD", "MSE", "Grad") else (lo > 0), key
    assert up["earns_its_price"] and up["worse_on"] == []
    assert not down["earns_its_price"] and set(HEADLINE) <= set(down["worse_on"])


def test_one_number_worse_beyond_the_noise_is_enough_to_fail_the_price_rule(synthetic, tmp_path):
    noisy = score_predictions(synthetic, predictions(synthetic, tmp_path / "noisy", noise=0.15)).rows
    perfect = score_predictions(synthetic, predictions(synthetic, tmp_path / "gt", noise=0)).rows
    holey = [{**r, "holes": 0.5} for r in perfect]  # perfect everywhere but with holes in every subject
    a, b = copies([r for r in noisy if r["name"] != "shape_none"], 10), \
        copies([r for r in holey if r["name"] != "shape_none"], 10)
    boot = bootstrap(a, b, resamples=200)
    assert boot["metrics"]["holes"]["verdict"] == "worse" and boot["worse_on"] == ["holes"]
    assert len(boot["better_on"]) == len(HEADLINE) and not boot["earns_its_price"]


def test_a_number_fewer_than_five_items_carry_gets_no_verdict_and_cannot_earn_a_price(synthetic, tmp_path):
    noisy = score_predictions(synthetic, predictions(synthetic, tmp_path / "noisy", noise=0.15)).rows
    perfect = score_predictions(synthetic, predictions(synthetic, tmp_path / "gt", noise=0)).rows
    boot = bootstrap(noisy, perfect, resamples=200)  # 3 mask items and 2 alpha mattes
    for key in ("mask MAE", "maxF", "Sm", "wF", "SAD", "MSE", "Grad"):
        assert boot["metrics"][key]["verdict"] == "too few items", key
    assert boot["metrics"]["SAD"]["n"] == 2 and boot["metrics"]["MAE_raw"]["n"] == 5
    assert boot["metrics"]["MAE_raw"]["verdict"] == "better"
    assert boot["better_on"] == ["MAE_raw"] and not boot["earns_its_price"]
