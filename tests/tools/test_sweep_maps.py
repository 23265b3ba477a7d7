"""tools/sweep_maps.py scores a variant exactly as ``bgremover eval`` scores the preset it describes."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bgremover import Remover
from bgremover.evaluation.dataset import load_eval_set
from bgremover.evaluation.runner import run_preset
from bgremover.evaluation.synthetic import write_synthetic_set

TOOL = Path(__file__).resolve().parents[2] / "tools" / "sweep_maps.py"


@pytest.fixture(scope="module")
def sweep():
    spec = importlib.util.spec_from_file_location("sweep_maps", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_variant_names_maps_weights_rule_and_refine_parameters(sweep):
    maps, rule, params = sweep.parse_variant("isnet-imgly u2net~*2 | rule=confidence stretch=0.1,0.9 eps=3e-3")
    assert maps == [("isnet-imgly", 1.0), ("u2net~", 2.0)]
    assert rule == "confidence"
    assert (params.stretch, params.eps, params.work_side) == ((0.1, 0.9), 3e-3, 480)


def test_cached_maps_score_as_the_fast_preset_does(sweep, tmp_path):
    set_dir = write_synthetic_set(tmp_path / "set")
    sweep.cache_maps(set_dir, tmp_path / "maps", ["u2netp"], flip=True)
    assert any(p.name.endswith(".u2netp~.npy") for p in (tmp_path / "maps").iterdir())

    # bg-remover-fast is u2netp, unmirrored, guided filter at 480 px with eps 1e-4
    swept = sweep.score_variant(set_dir, tmp_path / "maps", "u2netp | eps=1e-4")
    evaluated = sweep.headline(run_preset(load_eval_set(set_dir), Remover(), "bg-remover-fast").aggregate)
    assert swept == pytest.approx(evaluated, abs=1e-12)

    mirrored = sweep.score_variant(set_dir, tmp_path / "maps", "u2netp~ | eps=1e-4")
    assert mirrored != pytest.approx(evaluated, abs=1e-12)  # the mirrored run is a different map


def test_saved_alphas_score_as_the_variant_does(sweep, tmp_path):
    """`save` writes what `bgremover eval --pred-dir DIR --compare` reads, so a variant gets a paired bootstrap."""
    from bgremover.evaluation.runner import score_predictions

    set_dir = write_synthetic_set(tmp_path / "set")
    sweep.cache_maps(set_dir, tmp_path / "maps", ["u2netp"], flip=False)
    sweep.save_variant(set_dir, tmp_path / "maps", "u2netp | eps=1e-4", tmp_path / "pred")
    scored = score_predictions(load_eval_set(set_dir), tmp_path / "pred")
    assert sweep.headline(scored.aggregate) == pytest.approx(
        sweep.score_variant(set_dir, tmp_path / "maps", "u2netp | eps=1e-4"), abs=1e-12)
    sweep.save_variant(set_dir, tmp_path / "maps", "u2netp", tmp_path / "first", limit=1)
    assert len(list((tmp_path / "first").iterdir())) == 1
