"""The core-split measurement: which splits exist, and which one wins (real cut-outs with u2netp)."""
from __future__ import annotations

from bgremover.benchmark.cores import SplitResult, best_split, measure_split, splits
from web.images import photo_bytes


def test_splits_cover_every_product_equal_to_the_cores():
    assert splits(8) == [(1, 8), (2, 4), (4, 2), (8, 1)]
    assert splits(6) == [(1, 6), (2, 3), (3, 2), (6, 1)]
    assert splits(1) == [(1, 1)]


def test_within_the_tolerance_fewer_processes_win():
    results = [SplitResult(1, 2, 10, 10.0), SplitResult(2, 1, 10, 9.7)]
    assert best_split(results).workers == 1, "3 % faster is not worth a second copy of the model"
    results = [SplitResult(1, 2, 10, 10.0), SplitResult(2, 1, 10, 8.0)]
    assert best_split(results).workers == 2


def test_a_split_runs_real_cut_outs_in_its_processes(remover):
    result = measure_split(2, 1, "bg-remover-fast", photo_bytes((64, 48)), 2)
    assert (result.workers, result.images) == (2, 4) and result.images_per_s > 0
