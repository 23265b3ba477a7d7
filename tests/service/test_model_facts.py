"""The decision panel's words for a preset's figures, read from the shipped catalog against its baseline."""
from __future__ import annotations

import pytest

from bgremover.inference.catalog import load_catalog
from bgremover.service.model_facts import label, model_facts, quality_verdict


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def facts(catalog, name):
    measured = catalog.presets[name].measured
    return model_facts(measured.get("quality"), measured.get("latency"), catalog.baselines)


def test_each_preset_is_counted_against_rembg_u2net_on_the_eight_measures(catalog) -> None:
    # the README's "Quality" table: bg-remover-fp32 beats rembg u2net on all eight, bg-remover (its int8 copy) on six
    # (a hair behind on Sm and MSE, within noise); -fast wins SAD, MSE and Grad only; the IS-Net preset (issue 17's
    # recipe, confirmed on dev) trails it by a hair on mask MAE and Sm, within noise
    names = ("bg-remover-fast", "bg-remover", "bg-remover-fp32", "bg-remover-hq-isnet")
    verdicts = {name: facts(catalog, name).quality for name in names}
    assert {n: (v.better, v.measures) for n, v in verdicts.items()} == {
        "bg-remover-fast": (3, 8), "bg-remover": (6, 8), "bg-remover-fp32": (8, 8), "bg-remover-hq-isnet": (6, 8)}
    assert verdicts["bg-remover-fp32"].words == "Better than rembg u2net on every measure"
    assert verdicts["bg-remover"].words == "Better than rembg u2net on most measures"
    assert verdicts["bg-remover-fast"].words == "Behind rembg u2net on most measures"
    assert verdicts["bg-remover-fast"].number == "better on 3 of 8 measures"


def test_direction_comes_from_the_baseline_table() -> None:
    base = {"peer": {"label": "peer", "higher_is_better": ["f"], "quality": {"f": 0.5, "err": 1.0}}}
    assert quality_verdict({"f": 0.6, "err": 2.0}, base).better == 1  # higher f wins, higher err loses
    assert quality_verdict({"f": 0.4, "err": 0.5}, base).words == "Level with peer"
    assert quality_verdict({"other": 1.0}, base) is None  # nothing in common: no verdict, not "0 of 0"
    assert quality_verdict({"f": 0.6, "set": "dev"}, {"p": {"quality": {"f": 0.5, "set": "test"}}}) is None


def test_speed_is_the_benchs_seconds_per_megapixel_and_every_raw_key_has_a_label(catalog) -> None:
    fast = facts(catalog, "bg-remover-fast")
    measured = catalog.presets["bg-remover-fast"].measured
    assert (fast.seconds_per_mp, fast.speed_key) == (measured["latency"]["cpu_2core_1mp_s"], "cpu_2core_1mp_s")
    assert all(label(k) != k for d in measured.values() for k in d)  # the shipped keys all read as words
    assert label("alpha_MSE_e3") == "Alpha squared error (MSE ×10⁻³)" and label("p50_ms") == "P50 ms"
    assert model_facts(None, {"p50_ms": 210.0}, catalog.baselines).seconds_per_mp is None
