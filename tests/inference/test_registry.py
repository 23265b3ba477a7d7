"""The registry: one verified session per model per process, bring-your-own models through the config file."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from byo_model import SIZE, build_red_channel_model, write_custom_models
from PIL import Image

from bgremover.config import load_settings
from bgremover.errors import LicenseNotAccepted, ModelCorrupt, ModelNotAvailable
from bgremover.inference.catalog import load_catalog
from bgremover.inference.checksums import VerifiedFiles
from bgremover.inference.registry import SegmenterRegistry

pytest.importorskip("onnx", reason="the test extra (onnx) builds the bring-your-own model")


@pytest.fixture
def byo(tmp_path: Path):
    """Settings whose BGREMOVER_CUSTOM_MODELS file adds the red-channel model and a preset over it."""
    model = tmp_path / "red.onnx"
    sha = build_red_channel_model(model)
    toml = write_custom_models(tmp_path / "custom.toml", model, sha)
    (tmp_path / "models").mkdir()
    return load_settings(custom_models=toml, model_dir=tmp_path / "models", data_dir=tmp_path / "data")


def registry_for(settings, **kw) -> SegmenterRegistry:
    return SegmenterRegistry(load_catalog(settings.custom_models), settings.model_dir, **kw)


def test_a_bring_your_own_model_runs_through_the_whole_session_path(byo):
    seg = registry_for(byo).get("red")
    rgb = np.random.default_rng(1).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    prob = seg.predict(rgb)
    assert prob.shape == (SIZE, SIZE) and prob.dtype == np.float32
    np.testing.assert_allclose(prob, rgb[..., 0] / 255.0, atol=1e-6)


def test_a_bring_your_own_preset_cuts_out_what_its_model_says(byo):
    from bgremover import Remover

    img = np.zeros((64, 96, 3), np.uint8)
    img[:, :48] = (255, 0, 0)  # red left half: foreground for this model
    img[:, 48:] = (0, 0, 255)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    cut = Remover(byo).remove(buf.getvalue(), model="red-channel")
    out = np.asarray(Image.open(io.BytesIO(cut.data)))
    assert out.shape == (64, 96, 4)
    assert out[:, :40, 3].min() > 200 and out[:, 56:, 3].max() < 55


def test_a_bring_your_own_model_with_the_wrong_sha256_is_refused(tmp_path):
    model = tmp_path / "red.onnx"
    build_red_channel_model(model)
    toml = write_custom_models(tmp_path / "custom.toml", model, "0" * 64)
    settings = load_settings(custom_models=toml, model_dir=tmp_path / "models")
    with pytest.raises(ModelCorrupt) as err:
        registry_for(settings).get("red")
    assert err.value.code == "model_corrupt" and str(model) in err.value.message


def test_a_missing_model_says_how_to_fetch_it(tmp_path):
    reg = SegmenterRegistry(load_catalog(), tmp_path)
    assert not reg.is_available("u2netp")
    with pytest.raises(ModelNotAvailable, match="bgremover models fetch u2netp"):
        reg.get("u2netp")


def test_agpl_weights_are_not_served_without_acceptance(tmp_path):
    (tmp_path / "isnet-imgly.onnx").write_bytes(b"whatever is there, it is not loaded")
    reg = SegmenterRegistry(load_catalog(), tmp_path)
    assert not reg.is_available("isnet-imgly")
    with pytest.raises(LicenseNotAccepted, match="agpl-3.0"):
        reg.get("isnet-imgly")


def test_each_model_is_loaded_once_per_process(byo):
    a, b = registry_for(byo), registry_for(byo)
    assert a.get("red") is a.get("red")
    assert a.get("red") is b.get("red")  # a second Remover in the same process shares the session


def test_the_checksum_is_remembered_per_file_version_and_a_changed_file_is_caught(byo):
    path = load_catalog(byo.custom_models).model("red").file_path(byo.model_dir)
    registry_for(byo).get("red")
    sha = load_catalog(byo.custom_models).model("red").sha256
    assert VerifiedFiles(byo.model_dir).known_digest(path) == sha  # the next process need not hash it again

    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # same size, different content, written later
    st = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert VerifiedFiles(byo.model_dir).known_digest(path) is None
    with pytest.raises(ModelCorrupt):
        registry_for(byo).get("red")


def test_the_shared_sessions_are_bounded_least_recently_used_first(byo, monkeypatch):
    """The process-wide cache holds at most SHARED_SESSIONS_MAX sessions (here 2): a third drops the one used
    longest ago, and a registry asking for that one again loads a new session."""
    from bgremover.inference import registry as shared

    monkeypatch.setattr(shared, "SHARED_SESSIONS_MAX", 2)
    first = registry_for(byo, threads=1).get("red")
    second = registry_for(byo, threads=2).get("red")
    assert registry_for(byo, threads=1).get("red") is first, "shared, and now the most recently used"
    registry_for(byo, threads=3).get("red")
    assert len(shared._SHARED) == 2
    assert registry_for(byo, threads=1).get("red") is first
    assert registry_for(byo, threads=2).get("red") is not second, "the least recently used was dropped"
