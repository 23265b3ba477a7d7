"""int8 copies of the real u2netp: built here, recorded in a manifest, close to fp32, loaded only when intact."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bgremover.errors import ModelCorrupt, ModelNotAvailable
from bgremover.imaging.decode import decode_image
from bgremover.inference import derived
from bgremover.inference.catalog import Catalog, load_catalog
from bgremover.inference.checksums import VerifiedFiles, sha256_file
from bgremover.inference.quantize import calibration_inputs, calibration_photos, fp32_nodes, quantize_model
from bgremover.inference.registry import SegmenterRegistry

onnx = pytest.importorskip("onnx")
CATALOG = load_catalog()
INT8 = CATALOG.model("u2netp-int8")


@pytest.fixture(scope="module")
def built(model_dir: Path, tmp_path_factory) -> Path:
    """A model directory holding the real u2netp and its int8 copy, built once for this module."""
    from conftest import require

    require((model_dir / "u2netp.onnx").is_file(), "u2netp is not fetched (run: bgremover models fetch u2netp)")
    out = tmp_path_factory.mktemp("int8-models")
    shutil.copy(model_dir / "u2netp.onnx", out / "u2netp.onnx")
    for pid in (_a_dead_pid(), os.getppid()):  # a build killed outright, and a process that still runs
        (out / f".{INT8.file}.{pid}.tmp").write_bytes(b"partial")
    derived.build(INT8, CATALOG, out, VerifiedFiles(out))
    return out


def _a_dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()  # exited and reaped: no process has this pid now
    return proc.pid


def test_a_build_removes_the_partial_file_a_killed_build_left_and_only_that(built):
    partials = sorted(p.name for p in built.glob(f".{INT8.file}.*.tmp"))
    assert partials == [f".{INT8.file}.{os.getppid()}.tmp"]  # the dead build's is gone, the live one's stays


def sample_rgb() -> np.ndarray:
    return decode_image(calibration_photos()[-1].read_bytes()).rgb  # assets/sample.jpg


def test_calibration_uses_only_the_photos_shipped_with_the_package():
    photos = calibration_photos()
    assert [p.name for p in photos] == ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg", "sample.jpg"]
    assert all("bgremover/assets" in p.as_posix() for p in photos)
    licences = (photos[0].parent / "README.md").read_text()
    assert all(p.name in licences for p in photos[:-1])  # each calibration photo's licence is written down


def test_an_augmented_recipe_calibrates_on_ten_distinct_views_of_each_shipped_photo():
    spec = CATALOG.model("u2netp")
    photos = calibration_photos()[:2]
    plain = calibration_inputs(spec, photos)
    views = calibration_inputs(spec, photos, augment=True)
    assert len(plain) == 4 and len(views) == 20
    assert all(v.shape == plain[0].shape and v.dtype == np.float32 for v in views)
    np.testing.assert_array_equal(views[0], plain[0])  # the photo itself, then its mirror, as without views
    np.testing.assert_array_equal(views[1], plain[1])
    first = views[:10]
    assert len({v.tobytes() for v in first}) == 10  # every view is a different input
    assert CATALOG.model("u2net-int8").quantize.augment  # the default's int8 copy is calibrated this way


def test_the_int8_copy_has_int8_weights_and_keeps_the_recipes_layers_in_fp32(built):
    model = onnx.load(str(built / INT8.file))
    ops = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    int8_weights = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 4]
    assert len(int8_weights) == 119 - 33  # all but the kept convolutions (u2netp has 119)
    kept = fp32_nodes(onnx.load(str(built / "u2netp.onnx")), INT8.quantize)
    # the first conv, encoder stages 4-6 (24), six side outputs, decoder stage 2d's last conv and the fusion conv
    assert len(kept) == 33
    fp32_convs = [n for n in model.graph.node if n.op_type == "Conv" and n.name in kept]
    float_inits = {t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT}
    assert len(fp32_convs) == 33 and all(n.input[1] in float_inits for n in fp32_convs)


def test_the_int8_map_is_close_to_fp32_on_the_shipped_sample_photo(built):
    # Bound: this build differs from fp32 by 0.0002 mean absolute value on the sample (0.03 % of mask pixels flip);
    # with decoder stage 2d's last convolution in int8 it was 0.009, and with onnxruntime quantizing the recipe's fp32
    # layers per tensor, worse still (int8_kernels.py). 0.003 leaves room for another onnxruntime's kernels. It shows
    # the recipe works, not that u2netp-int8 is as good as fp32: on dev-large it is worse on Sm and wF by 0.002, which
    # is why no preset runs it (README, "Models and presets").
    registry = SegmenterRegistry(CATALOG, built)
    rgb = sample_rgb()
    fp32 = registry.get("u2netp").predict(rgb)
    int8 = registry.get("u2netp-int8").predict(rgb)
    assert int8.shape == fp32.shape == (320, 320)
    assert float(np.abs(int8 - fp32).mean()) < 0.003
    assert float(((int8 > 0.5) == (fp32 > 0.5)).mean()) > 0.995  # the cut-out's mask agrees almost everywhere
    assert float(np.abs(int8 - fp32).mean()) > 0  # it really is another model


def test_the_manifest_records_what_was_built_so_another_machine_can_build_the_same(built):
    import onnxruntime as ort

    entry = json.loads((built / derived.MANIFEST).read_text())["u2netp-int8"]
    assert entry["sha256"] == sha256_file(built / INT8.file) and entry["bytes"] == (built / INT8.file).stat().st_size
    assert entry["source"] == {"id": "u2netp", "sha256": CATALOG.model("u2netp").sha256}
    assert entry["onnxruntime"] == ort.__version__ and entry["onnx"] == onnx.__version__
    assert [c["name"] for c in entry["calibration"]] == [p.name for p in calibration_photos()]
    assert all(c["sha256"] == sha256_file(p) for c, p in zip(entry["calibration"], calibration_photos()))
    assert entry["recipe"]["precision"] == "int8" and entry["recipe"]["keep_fp32"] == list(INT8.quantize.keep_fp32)
    kept = entry["recipe"]["keep_fp32"]
    assert kept[:3] == ["side*", "outconv.*", "2258"] and len(kept) == 27  # and encoder stages 4-6's 24
    assert derived.status(INT8, CATALOG, built, VerifiedFiles(built)) == "fetched"


@pytest.mark.parametrize("rounds", [0, 2], ids=["plain", "bias-corrected"])
def test_two_builds_give_the_same_bytes(built, tmp_path, rounds):
    # one calibration photo keeps the test short; the full build is the same code with five
    source, photos = built / "u2netp.onnx", calibration_photos()[-1:]
    spec = CATALOG.model("u2netp")
    recipe = dataclasses.replace(INT8.quantize, bias_correction_rounds=rounds)
    quantize_model(source, tmp_path / "a.onnx", spec, recipe, photos)
    quantize_model(source, tmp_path / "b.onnx", spec, recipe, photos)
    assert sha256_file(tmp_path / "a.onnx") == sha256_file(tmp_path / "b.onnx")
    if rounds:  # and the correction changed the model: the biases differ from a plain build's
        quantize_model(source, tmp_path / "plain.onnx", spec, INT8.quantize, photos)
        assert sha256_file(tmp_path / "a.onnx") != sha256_file(tmp_path / "plain.onnx")


def test_the_defaults_int8_copy_is_bias_corrected():
    recipe = CATALOG.model("u2net-int8").quantize
    assert recipe.bias_correction_rounds == 3 and recipe.bias_correction_damping == 0.5


def with_recipe(**changes) -> Catalog:
    spec = dataclasses.replace(INT8, quantize=dataclasses.replace(INT8.quantize, **changes))
    return dataclasses.replace(CATALOG, models={**CATALOG.models, INT8.id: spec})


def test_a_copy_built_from_another_recipe_is_not_loaded(built):
    catalog = with_recipe(keep_first_conv=False)
    assert derived.status(catalog.model(INT8.id), catalog, built, VerifiedFiles(built)) == "missing"
    registry = SegmenterRegistry(catalog, built)
    assert not registry.is_available(INT8.id)
    with pytest.raises(ModelNotAvailable, match="models fetch u2netp-int8"):
        registry.get(INT8.id)


def test_a_damaged_int8_file_is_refused(built, tmp_path):
    for name in ("u2netp.onnx", INT8.file, derived.MANIFEST):
        shutil.copy(built / name, tmp_path / name)
    with open(tmp_path / INT8.file, "r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 16)
    assert derived.status(INT8, CATALOG, tmp_path, VerifiedFiles(tmp_path)) == "corrupt"
    with pytest.raises(ModelCorrupt, match="fails its checksum"):
        SegmenterRegistry(CATALOG, tmp_path).get(INT8.id)


def test_an_int8_model_that_was_never_built_says_how_to_build_it(tmp_path):
    registry = SegmenterRegistry(CATALOG, tmp_path)
    assert not registry.is_available(INT8.id)
    with pytest.raises(ModelNotAvailable, match="bgremover models fetch u2netp-int8"):
        registry.get(INT8.id)


def test_a_preset_runs_the_precision_its_models_name(built):
    from bgremover import Remover
    from bgremover.config import load_settings

    default, fp32 = CATALOG.default_preset(), CATALOG.preset("bg-remover-fp32")
    assert default.name == "bg-remover" and default.models == ("u2net-int8",)  # int8, shown level on dev and dev-large
    assert CATALOG.model("u2net-int8").derived_from == "u2net" and fp32.models == ("u2net",)  # fp32 stays selectable
    assert default.recipe == fp32.recipe  # the same edges and colours: only the model's precision differs
    former = CATALOG.preset("bg-remover-int8")  # the int8 preset's name before it became the default
    assert (former.models, former.recipe) == (default.models, default.recipe)
    fast, fast_fp32 = CATALOG.preset("bg-remover-fast"), CATALOG.preset("bg-remover-fast-fp32")
    assert (fast.models, fast_fp32.models) == (("u2netp-int8",), ("u2netp",)) and fast.recipe == fast_fp32.recipe
    sample = calibration_photos()[-1].read_bytes()
    for preset, model in (("bg-remover-fast", "u2netp-int8"), ("bg-remover-fast-fp32", "u2netp")):
        remover = Remover(load_settings(model_dir=built), catalog=CATALOG)
        remover.remove(sample, model=preset)
        assert set(remover.registry._loaded) == {(model, None)}
    assert remover.registry.get("u2netp-int8").spec.sha256 == sha256_file(built / INT8.file)
