"""How a preset's ``measured`` table in the catalog becomes the model list's quality and latency."""
from __future__ import annotations

from bgremover.web.routes.models import _split_measured


def test_quality_and_latency_tables_are_passed_through():
    q, lt = _split_measured({"quality": {"mask_mae": 0.04, "dataset": "dev"}, "latency": {"p50_ms": 410.0}})
    assert q == {"mask_mae": 0.04, "dataset": "dev"} and lt == {"p50_ms": 410.0}


def test_flat_figures_are_split_by_name():
    q, lt = _split_measured({"mask_maxF": 0.93, "latency_1mp_ms": 900, "images_per_s": 1.1})
    assert q == {"mask_maxF": 0.93} and lt == {"latency_1mp_ms": 900, "images_per_s": 1.1}


def test_nothing_measured_is_null():
    assert _split_measured({}) == (None, None)
