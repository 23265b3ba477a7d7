"""Model names as the service resolves them: one default rule, the licence before the weights, honest listings.

The model directory is a temporary one holding empty files: availability is "the file is there and its licence
accepted" (a corrupt file shows up at load, in the worker), so no weights are needed here.
"""
from __future__ import annotations

import pytest

from bgremover.config import load_settings
from bgremover.errors import LicenseNotAccepted, ModelNotAvailable, UnknownModel
from bgremover.service.errors import ValidationFailed
from bgremover.service.models import ModelCatalog, validated_options

ISNET_PRESET = "bg-remover-hq-isnet"


def catalog_with(tmp_path, fetched=("u2netp", "u2net", "isnet-imgly"), **settings) -> ModelCatalog:
    models = ModelCatalog(load_settings(model_dir=tmp_path, custom_models=None, **settings))
    for model_id in fetched:
        models.catalog.model(model_id).file_path(tmp_path).write_bytes(b"weights")
    return models


def test_isnet_without_the_licence_is_license_not_accepted_naming_the_setting(tmp_path):
    """Issue 13 item 6: the weights are fetched, but the AGPL licence is not accepted: the answer says so and names
    the exact setting, instead of "not installed"."""
    models = catalog_with(tmp_path)
    with pytest.raises(LicenseNotAccepted) as refused:
        models.resolve(ISNET_PRESET)
    assert refused.value.code == "license_not_accepted"
    assert "BGREMOVER_ACCEPT_LICENSES=agpl-3.0" in refused.value.message
    assert "not installed" not in refused.value.message


def test_with_the_licence_accepted_isnet_resolves_and_costs_its_credits(tmp_path):
    models = catalog_with(tmp_path, accept_licenses=["agpl-3.0"])
    preset = models.resolve(ISNET_PRESET)
    assert preset.name == ISNET_PRESET and preset.credits == models.catalog.presets[ISNET_PRESET].credits > 0


def test_accepted_but_not_fetched_is_model_not_available(tmp_path):
    models = catalog_with(tmp_path, fetched=("u2net",), accept_licenses=["agpl-3.0"])
    with pytest.raises(ModelNotAvailable):
        models.resolve(ISNET_PRESET)


def test_the_unknown_model_message_lists_only_what_can_run_here(tmp_path):
    models = catalog_with(tmp_path, fetched=("u2netp", "u2net", "isnet-imgly"))
    with pytest.raises(UnknownModel) as refused:
        models.resolve("bg-remover-9000")
    message = refused.value.message
    assert "bg-remover-fast" in message and "bg-remover-hq" in message
    assert "isnet" not in message, "an unlicensed preset is listed as available"


def test_one_default_rule_the_setting_else_the_catalog_default(tmp_path):
    assert catalog_with(tmp_path, default_model="bg-remover-fast-fp32").resolve(None).name == "bg-remover-fast-fp32"
    fallback = catalog_with(tmp_path, default_model="no-such-preset")
    marked = [p.name for p in fallback.catalog.presets.values() if p.default]
    assert fallback.default_name == marked[0]
    with pytest.raises(ModelNotAvailable, match="models fetch u2net-int8"):  # the default runs an int8 copy built
        fallback.resolve(None)  # by `models fetch`: none here, and the answer names what to run, not another preset
    statuses = fallback.statuses()
    assert [s.preset.name for s in statuses if s.default] == marked
    assert [s.preset.credits for s in statuses] == sorted(s.preset.credits for s in statuses)


def test_statuses_say_why_a_model_cannot_run(tmp_path):
    status = {s.preset.name: s for s in catalog_with(tmp_path, fetched=("u2netp",)).statuses()}
    assert status["bg-remover-fast-fp32"].available and status["bg-remover-fast-fp32"].problem is None
    assert isinstance(status["bg-remover"].problem, ModelNotAvailable)
    # the fast preset runs the int8 copy that `models fetch` builds from u2netp: not built here, and the answer says so
    assert isinstance(status["bg-remover-fast"].problem, ModelNotAvailable)
    assert "models fetch u2netp-int8" in status["bg-remover-fast"].problem.message
    assert isinstance(status[ISNET_PRESET].problem, LicenseNotAccepted)


def test_options_are_validated_before_anything_is_charged(tmp_path):
    preset = catalog_with(tmp_path).resolve("bg-remover-fast-fp32")
    assert validated_options(preset, "webp", {"channels": "alpha", "crop": True}).format == "webp"
    with pytest.raises(ValidationFailed, match="channels"):
        validated_options(preset, "png", {"channels": "cmyk"})
    with pytest.raises(ValidationFailed):
        validated_options(preset, "png", {"bg_color": "blurple"})
