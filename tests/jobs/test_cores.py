"""How ``serve`` shares the cores: the operator's settings win, then this machine's measurement, then the rule."""
from __future__ import annotations

import json

from bgremover.config import load_settings
from bgremover.jobs.cores import MEASUREMENT_FILE, REFERENCE_THREADS_PER_WORKER, plan_cores, worker_env


def test_configured_workers_share_the_cores_unless_threads_are_configured_too(tmp_path):
    plan = plan_cores(load_settings(data_dir=tmp_path, workers=4), 16)
    assert (plan.workers, plan.threads) == (4, 4)
    plan = plan_cores(load_settings(data_dir=tmp_path, workers=4, onnx_threads=1), 16)
    assert (plan.workers, plan.threads, plan.reason) == (4, 1, "as configured")
    assert (plan_cores(load_settings(data_dir=tmp_path), 16, workers=2).workers, ) == (2, ), "--workers wins"


def test_configured_threads_give_one_process_per_share(tmp_path):
    plan = plan_cores(load_settings(data_dir=tmp_path, workers=0, onnx_threads=4), 16)
    assert (plan.workers, plan.threads) == (4, 4)


def test_a_saved_measurement_for_these_cores_is_used(tmp_path):
    (tmp_path / MEASUREMENT_FILE).write_text(json.dumps({"cores": 8, "best": {"workers": 8, "threads": 1}}))
    settings = load_settings(data_dir=tmp_path, workers=0)
    plan = plan_cores(settings, 8)
    assert (plan.workers, plan.threads) == (8, 1) and "measured on this machine" in plan.describe(8)
    rule = plan_cores(settings, 4)
    assert "reference rule" in rule.reason, "a measurement of another core count is not reused"


def test_without_a_measurement_the_reference_rule_decides(tmp_path):
    per = REFERENCE_THREADS_PER_WORKER
    plan = plan_cores(load_settings(data_dir=tmp_path, workers=0), 8)
    assert (plan.workers, plan.threads) == (8 // per, per)
    one = plan_cores(load_settings(data_dir=tmp_path, workers=0), 1)
    assert (one.workers, one.threads) == (1, 1)


def test_each_worker_process_is_told_its_threads(tmp_path):
    plan = plan_cores(load_settings(data_dir=tmp_path, workers=2), 6)
    assert worker_env(plan)["BGREMOVER_ONNX_THREADS"] == "3"
