"""`bgremover eval`: runs a preset (u2netp) or scores predictions on a generated set, prints the
tables, writes JSON, compares with peers item by item, and refuses bad input with a typed error."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from bgremover.cli.main import app
from bgremover.evaluation.aggregate import compare
from bgremover.evaluation.dataset import load_eval_set
from bgremover.evaluation.runner import score_predictions
from bgremover.evaluation.synthetic import write_synthetic_set

runner = CliRunner()


@pytest.fixture
def set_dir(tmp_path: Path) -> Path:
    return write_synthetic_set(tmp_path / "set")


def peer_predictions(set_dir: Path, out: Path, shift: int) -> Path:
    """A peer whose masks are the GT shifted sideways: worse by a known amount."""
    out.mkdir(parents=True)
    for item in load_eval_set(set_dir).items:
        a = np.roll(item.load_gt(), shift, axis=1)
        Image.fromarray(np.round(a * 255).astype(np.uint8)).save(out / f"{item.name}.png")
    return out


def test_eval_runs_a_preset_prints_overall_and_by_dataset_and_writes_json(set_dir, tmp_path, remover):
    preds, out_json = tmp_path / "fast", tmp_path / "fast.json"
    res = runner.invoke(app, ["eval", str(set_dir), "--model", "bg-remover-fast", "--save-predictions", str(preds),
                              "--json", str(out_json)])
    assert res.exit_code == 0, res.output
    for text in ("bg-remover-fast", "MAE_raw", "m.maxF", "a.Grad", "by dataset", "shapes", "soft edges"):
        assert text in res.output
    data = json.loads(out_json.read_text())
    ours = data["results"][0]
    assert ours["model"] == "bg-remover-fast" and ours["aggregate"]["n"] == 5
    assert set(ours["groups"]) == {"shapes (generated)", "soft edges (generated)"}
    # what it printed and wrote is what scoring the saved files gives
    rescored = score_predictions(load_eval_set(set_dir), preds).aggregate
    assert ours["aggregate"]["MAE_raw"] == pytest.approx(rescored["MAE_raw"], rel=1e-12)
    assert f"{rescored['MAE_raw']:.4f}" in res.output
    assert ours["aggregate"]["alpha"]["Grad"] == pytest.approx(rescored["alpha"]["Grad"], rel=1e-12)


def compare_shifted(set_dir: Path, tmp_path: Path, ours_shift: int, peer_shift: int, peer: str = "peer"):
    """``eval --pred-dir OURS --compare PEER --json``: its result, what it wrote, and the two directories."""
    ours = peer_predictions(set_dir, tmp_path / "ours", shift=ours_shift)
    peer_dir = peer_predictions(set_dir, tmp_path / peer, shift=peer_shift)
    out_json = tmp_path / "cmp.json"
    res = runner.invoke(app, ["eval", str(set_dir), "--pred-dir", str(ours), "--compare", str(peer_dir),
                              "--json", str(out_json)])
    assert res.exit_code == 0, res.output
    return res, json.loads(out_json.read_text()), ours, peer_dir


def test_eval_scores_existing_predictions_and_compares_with_peers(set_dir, tmp_path):
    res, data, ours, peer = compare_shifted(set_dir, tmp_path, 2, 9)
    assert "paired, per item: B = ours vs A = peer" in res.output
    assert [r["label"] for r in data["results"]] == ["ours", "peer"]
    eval_set = load_eval_set(set_dir)
    expected = compare(score_predictions(eval_set, peer).rows, score_predictions(eval_set, ours).rows)["wins"]
    assert data["comparisons"][0]["wins"] == expected
    assert expected["MAE_raw"]["b_better"] == 4 and expected["MAE_raw"]["tie"] == 1  # the empty photo ties
    assert "MAE_raw" in res.output and " 4 " in res.output


def test_eval_limit_and_gallery(set_dir, tmp_path):
    ours = peer_predictions(set_dir, tmp_path / "ours", shift=0)
    gallery, out_json = tmp_path / "gallery", tmp_path / "g.json"
    res = runner.invoke(app, ["eval", str(set_dir), "--pred-dir", str(ours), "--limit", "2", "--gallery", str(gallery),
                              "--json", str(out_json)])
    assert res.exit_code == 0, res.output
    assert json.loads(out_json.read_text())["results"][0]["aggregate"]["n"] == 2
    assert sorted(p.name for p in gallery.iterdir()) == ["index.html", "shape_box.png", "shape_disc.png"]


def test_a_directory_without_a_manifest_is_refused_with_a_typed_error(tmp_path):
    res = runner.invoke(app, ["eval", str(tmp_path)])
    assert res.exit_code == 1
    assert "invalid_eval_set" in res.output and "manifest.json" in res.output


def test_an_unknown_model_is_refused_before_any_work(set_dir, tmp_path):
    res = runner.invoke(app, ["eval", str(set_dir), "--model", "no-such-preset", "--save-predictions",
                              str(tmp_path / "p")])
    assert res.exit_code == 1 and "unsupported_model" in res.output
    assert not (tmp_path / "p").exists()


def test_pred_dir_cannot_be_combined_with_a_model(set_dir, tmp_path):
    res = runner.invoke(app, ["eval", str(set_dir), "--pred-dir", str(tmp_path), "--model", "bg-remover-fast"])
    assert res.exit_code == 2 and "--pred-dir" in res.output
    res = runner.invoke(app, ["eval", str(set_dir), "--compare", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(app, ["eval", str(set_dir), "--pred-dir", str(tmp_path), "--vs-cheaper"])
    assert res.exit_code == 2 and "--compare instead" in res.output


def test_eval_keeps_one_fold_or_its_complement_and_says_which(set_dir, tmp_path):
    from bgremover.evaluation.split import parse_fold

    ours = peer_predictions(set_dir, tmp_path / "ours", shift=0)
    names = [it.name for it in load_eval_set(set_dir).items]
    seen = []
    for spec in ("0/2", "~0/2"):
        out_json = tmp_path / f"{spec.replace('/', '_')}.json"
        res = runner.invoke(app, ["eval", str(set_dir), "--pred-dir", str(ours), "--fold", spec,
                                  "--json", str(out_json)])
        assert res.exit_code == 0, res.output
        assert f"fold {spec}" in res.output
        data = json.loads(out_json.read_text())
        got = [r["name"] for r in data["results"][0]["items"]]
        assert got == parse_fold(spec).select(names) and data["fold"] == spec
        seen += got
    assert sorted(seen) == sorted(names)  # the two parts are disjoint and cover the set
    res = runner.invoke(app, ["eval", str(set_dir), "--pred-dir", str(ours), "--fold", "3/2"])
    assert res.exit_code == 2 and "I/K" in res.output


def test_eval_prints_holes_ghosts_and_the_bootstrap_interval_with_a_plain_verdict(set_dir, tmp_path):
    res, data, _, _ = compare_shifted(set_dir, tmp_path, 0, 0, peer="same")
    assert "holes %" in res.output and "ghosts %" in res.output and "95 % interval" in res.output
    said = " ".join(res.output.split())
    sentence = said[said.index("ours vs same:"):].split(".")[0]
    assert "within noise on MAE_raw" in sentence and "too few items on" in sentence and "SAD" in sentence
    assert "better" not in sentence and "worse" not in sentence
    boot = data["comparisons"][0]["bootstrap"]
    assert all(m["delta_lo"] == m["delta_hi"] == 0.0 for m in boot["metrics"].values())
    agg = data["results"][0]["aggregate"]
    assert agg["holes"] == 0.0 and agg["ghosts"] == 0.0


def test_vs_cheaper_runs_the_next_cheaper_presets_and_says_whether_the_price_is_earned(set_dir, tmp_path,
                                                                                      monkeypatch, remover):
    custom = tmp_path / "custom.toml"
    custom.write_text('[presets.preview]\ncredits = 0\nmodels = ["u2netp"]\n'
                      '[presets.preview.recipe]\nrefine = { method = "upsample", upsample = "linear" }\n')
    monkeypatch.setenv("BGREMOVER_CUSTOM_MODELS", str(custom))
    out_json = tmp_path / "ladder.json"
    res = runner.invoke(app, ["eval", str(set_dir), "--model", "bg-remover-fast", "--vs-cheaper",
                              "--json", str(out_json)])
    assert res.exit_code == 0, res.output
    data = json.loads(out_json.read_text())
    assert [r["label"] for r in data["results"]] == ["bg-remover-fast", "preview"]
    cmp = data["comparisons"][0]
    assert (cmp["a"], cmp["b"]) == ("preview", "bg-remover-fast")
    earned = cmp["bootstrap"]["earns_its_price"]
    assert ("earns its price over preview" if earned else "does not earn its price over preview") in res.output


def test_peer_directories_with_the_same_name_get_labels_that_tell_them_apart(set_dir, tmp_path):
    """``--compare fp32/dev --compare rembg/dev``: each row and comparison names its own peer, never "dev" twice."""
    ours = peer_predictions(set_dir, tmp_path / "ours", shift=2)
    fp32 = peer_predictions(set_dir, tmp_path / "fp32" / "dev", shift=5)
    rembg = peer_predictions(set_dir, tmp_path / "rembg" / "dev", shift=9)
    out_json = tmp_path / "cmp.json"
    res = runner.invoke(app, ["eval", str(set_dir), "--pred-dir", str(ours), "--compare", str(fp32),
                              "--compare", str(rembg), "--json", str(out_json)])
    assert res.exit_code == 0, res.output
    assert [r["label"] for r in json.loads(out_json.read_text())["results"]] == ["ours", "fp32/dev", "rembg/dev"]
    assert "B = ours vs A = fp32/dev" in res.output and "B = ours vs A = rembg/dev" in res.output
