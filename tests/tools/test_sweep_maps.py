"""tools/sweep_maps.py scores a variant exactly as ``bgremover eval`` scores the preset it describes."""
from __future__ import annotations

import json

import pytest

from bgremover import Remover
from bgremover.evaluation.dataset import load_eval_set
from bgremover.evaluation.runner import run_preset
from bgremover.evaluation.split import parse_fold
from bgremover.evaluation.synthetic import write_synthetic_set


def test_a_variant_names_maps_weights_rule_and_refine_parameters(sweep):
    maps, rule, params, _ = sweep.parse_variant("isnet-imgly u2net~*2 | rule=confidence stretch=0.1,0.9 eps=3e-3")
    assert maps == [("isnet-imgly", 1.0), ("u2net~", 2.0)]
    assert rule == "confidence"
    assert (params.stretch, params.eps, params.work_side) == ((0.1, 0.9), 3e-3, 480)


def test_cached_maps_score_as_the_fast_preset_does(sweep, tmp_path):
    set_dir = write_synthetic_set(tmp_path / "set")
    sweep.cache_maps(set_dir, tmp_path / "maps", ["u2netp-int8"], flip=True)
    assert any(p.name.endswith(".u2netp-int8~.npy") for p in (tmp_path / "maps").iterdir())

    # bg-remover-fast is u2netp's int8 copy, unmirrored, guided filter at 480 px with eps 1e-4
    swept = sweep.score_variant(set_dir, tmp_path / "maps", "u2netp-int8 | eps=1e-4")
    evaluated = sweep.headline(run_preset(load_eval_set(set_dir), Remover(), "bg-remover-fast").aggregate)
    assert swept == pytest.approx(evaluated, abs=1e-12)

    mirrored = sweep.score_variant(set_dir, tmp_path / "maps", "u2netp-int8~ | eps=1e-4")
    assert mirrored != pytest.approx(evaluated, abs=1e-12)  # the mirrored run is a different map


def test_variants_are_judged_against_the_first_by_the_paired_bootstrap_on_a_fold(sweep, tmp_path, capsys):
    set_dir = write_synthetic_set(tmp_path / "set")
    sweep.cache_maps(set_dir, tmp_path / "maps", ["u2netp"], flip=False)
    gt_dir = tmp_path / "gt-as-peer"
    gt_dir.mkdir()
    for item in load_eval_set(set_dir).items:
        (gt_dir / f"{item.name}.png").write_bytes(item.gt_path.read_bytes())
    out = tmp_path / "sweep.json"

    assert sweep.main(["score", str(set_dir), str(tmp_path / "maps"), "u2netp | eps=1e-4", "u2netp*2 | eps=1e-4",
                       "--peer", f"truth={gt_dir}", "--fold", "~0/2", "--json", str(out)]) == 0

    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    names = parse_fold("~0/2").select([it.name for it in load_eval_set(set_dir).items])
    assert data["items"] == len(names) and f"{len(names)} items" in printed
    assert [r["name"] for r in data["rows"]["truth"]] == names
    same = data["vs_first"]["u2netp*2 | eps=1e-4"]["metrics"]  # one map's weight alone changes nothing
    assert all(m["delta_lo"] == m["delta_hi"] == 0.0 and m["verdict"] in ("within noise", "too few items")
               for m in same.values())
    assert "=" in printed.splitlines()[-2] and "+" not in printed.splitlines()[-2].split("eps=1e-4")[1]
    truth = data["vs_first"]["truth"]["metrics"]
    assert all(r["holes"] in (0.0, None) and r["ghosts"] in (0.0, None) for r in data["rows"]["truth"])
    assert truth["MAE_raw"]["delta_hi"] <= 0  # the ground truth never does worse than a model
    assert printed.splitlines()[-1].startswith("peer truth")


def test_a_variant_can_run_the_matting_stage(sweep):
    _, _, _, matting = sweep.parse_variant("u2net | matting=closed_form band=0.1,0.9 widen=4 mix=0.5")
    assert (matting.method, matting.band, matting.widen, matting.mix) == ("closed_form", (0.1, 0.9), 4, 0.5)


def test_a_peer_is_reproduced_from_a_cached_map_and_a_filling_cache_scores_what_it_holds(sweep, tmp_path, capsys):
    import numpy as np

    set_dir = write_synthetic_set(tmp_path / "set")
    items = load_eval_set(set_dir).items
    cache = tmp_path / "maps"
    cache.mkdir()
    for item in items[1:]:  # the first item's map is not there yet
        np.save(cache / f"{item.name}.truth.npy", item.load_gt().astype(np.float32))
    pairs = [(it, cache) for it in items[1:]]

    rows = sweep.peer_map_rows(pairs, "truth:lanczos")  # the map at the photo's size: only 8-bit truncation
    assert all(r["MAE_raw"] < 1 / 255 and r["holes"] in (0.0, None) for r in rows)

    assert not sweep.has_maps(cache, items[0].name, {"truth"}) and sweep.has_maps(cache, items[1].name, {"truth"})
    assert not sweep.has_maps(cache, items[1].name, {"truth~"})  # its mirrored run is not cached
    assert sweep.main(["score", str(set_dir), str(cache), "truth", "--cached",
                       "--peer-map", "same=truth:bilinear"]) == 0
    assert f"{len(items) - 1} items" in capsys.readouterr().out
