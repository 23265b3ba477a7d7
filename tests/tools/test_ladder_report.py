"""tools/ladder_report.py prints each variant's numbers and the bootstrap of the pairs it is asked for."""
from __future__ import annotations

import re

import numpy as np

from bgremover.evaluation.dataset import load_eval_set
from bgremover.evaluation.synthetic import write_synthetic_set


def test_a_ladder_report_scores_cached_items_and_judges_each_pair(ladder, tmp_path):
    set_dir = write_synthetic_set(tmp_path / "set")
    items = load_eval_set(set_dir).items
    cache = tmp_path / "root" / "maps"
    cache.mkdir(parents=True)
    for item in items[:-1]:  # the last item's maps are not cached yet: it is left out
        gt = item.load_gt().astype(np.float32)
        np.save(cache / f"{item.name}.truth.npy", gt)
        np.save(cache / f"{item.name}.blurry.npy", np.clip(gt * 0.7 + 0.15, 0, 1))
    cfg = {"title": "synthetic", "sets": [[str(set_dir), "maps"]], "fold": None,
           "variants": {"sharp": "truth", "soft": "blurry", "sharp again": "truth*2"},
           "peer_maps": {"peer": "truth:lanczos"}, "pairs": [["sharp again", "sharp"], ["sharp", "soft"]]}

    text = ladder.report(cfg, tmp_path / "root", None)

    assert text.splitlines()[0] == f"# synthetic: {len(items) - 1} items (fold all)"
    same = next(line for line in text.splitlines() if line.startswith("| sharp again vs sharp |"))
    intervals = re.findall(r"\[([-+][0-9.]+), ([-+][0-9.]+)\]", same)
    assert len(intervals) == 10 and all(float(lo) == float(hi) == 0 for lo, hi in intervals)  # identical maps
    assert same.count("| ? [") == 10 and same.endswith("| no |")  # 4 items: too few for any verdict
    better = next(line for line in text.splitlines() if line.startswith("| sharp vs soft |"))
    lo, hi = re.findall(r"\[([-+][0-9.]+), ([-+][0-9.]+)\]", better)[0]  # MAE_raw: lower in every draw
    assert float(lo) <= float(hi) < 0
    assert "| peer |" in text and "by dataset" in text
