"""OnnxSegmenter: the real u2netp, its pre/post-processing as the catalog describes, threads and providers."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import require
from PIL import Image

from bgremover.errors import ModelError
from bgremover.inference.catalog import load_catalog
from bgremover.inference.checksums import VerifiedFiles
from bgremover.inference.registry import SegmenterRegistry
from bgremover.inference.session import OnnxSegmenter, available_providers, default_threads

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def u2netp(model_dir):
    reg = SegmenterRegistry(CATALOG, model_dir)
    require(reg.is_available("u2netp"), "u2netp is not fetched (run: bgremover models fetch u2netp)")
    return reg.get("u2netp")


def disc_scene(h: int = 480, w: int = 640) -> tuple[np.ndarray, np.ndarray]:
    """A saturated red disc on a plain light-grey background, and the disc's mask."""
    yy, xx = np.mgrid[:h, :w]
    inside = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) * 0.3) ** 2
    rgb = np.full((h, w, 3), 225, np.uint8)
    rgb[inside] = (200, 30, 30)
    return rgb, inside


def test_u2netp_finds_the_object_in_a_simple_scene(u2netp):
    rgb, inside = disc_scene()
    prob = u2netp.predict(rgb)
    size = CATALOG.model("u2netp").input_size
    assert prob.shape == (size, size) and prob.dtype == np.float32
    assert 0.0 <= prob.min() and prob.max() <= 1.0
    small = np.asarray(Image.fromarray(inside).resize((size, size))) > 0
    assert prob[small].mean() > 0.8 and prob[~small].mean() < 0.2


def test_preprocessing_follows_the_spec(u2netp):
    spec = u2netp.spec
    rgb = np.full((50, 70, 3), (255, 128, 0), np.uint8)
    x = u2netp.preprocess(rgb)
    assert x.shape == (1, 3, spec.input_size, spec.input_size) and x.dtype == np.float32
    # value_scale "max": divided by the image's maximum (255 here), then ImageNet mean/std per channel
    expected = (np.array([255, 128, 0]) / 255.0 - np.array(spec.mean)) / np.array(spec.std)
    np.testing.assert_allclose(x[0, :, 10, 10], expected, rtol=1e-5)


def test_minmax_output_normalisation_spans_zero_to_one(u2netp):
    rgb, _ = disc_scene(200, 200)
    prob = u2netp.predict(rgb)
    assert prob.min() == pytest.approx(0.0, abs=1e-6) and prob.max() == pytest.approx(1.0, abs=1e-6)


def test_threads_default_to_the_cores_this_process_may_use(u2netp):
    opts = u2netp.session_options
    assert opts.intra_op_num_threads == default_threads() >= 1
    assert opts.inter_op_num_threads == 1  # one graph at a time: u2net has no parallel branches worth a pool


def test_providers_put_a_gpu_first_when_there_is_one_and_always_end_with_the_cpu(u2netp):
    import onnxruntime as ort

    have = ort.get_available_providers()
    order = available_providers()
    assert order[-1] == "CPUExecutionProvider"
    assert (order[0] == "CUDAExecutionProvider") == ("CUDAExecutionProvider" in have)
    assert available_providers(prefer_gpu=False) == ["CPUExecutionProvider"]
    assert u2netp.active_providers[0] in order


def test_a_file_that_is_not_onnx_is_a_model_error(tmp_path):
    bad = tmp_path / "u2netp.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(ModelError, match="could not load model u2netp"):
        OnnxSegmenter(CATALOG.model("u2netp"), bad)


def test_the_optimised_graph_is_saved_once_and_gives_the_same_answers(u2netp, model_dir, tmp_path):
    spec, path = u2netp.spec, u2netp.spec.file_path(model_dir)
    verified = VerifiedFiles(tmp_path)
    first = OnnxSegmenter(spec, path, optimized_dir=tmp_path / "opt", verified=verified,
                          providers=["CPUExecutionProvider"])
    [saved] = list((tmp_path / "opt").iterdir())
    assert spec.sha256[:12] in saved.name and verified.known_digest(saved) is not None
    again = OnnxSegmenter(spec, path, optimized_dir=tmp_path / "opt", verified=verified,
                          providers=["CPUExecutionProvider"])
    assert again.session_options.graph_optimization_level.name == "ORT_DISABLE_ALL"  # loaded, not re-optimised
    rgb, _ = disc_scene(120, 160)
    np.testing.assert_array_equal(again.predict(rgb), first.predict(rgb))


def test_a_saved_graph_changed_behind_our_back_is_rebuilt_not_loaded(u2netp, model_dir, tmp_path):
    spec, path = u2netp.spec, u2netp.spec.file_path(model_dir)
    verified = VerifiedFiles(tmp_path)
    OnnxSegmenter(spec, path, optimized_dir=tmp_path / "opt", verified=verified, providers=["CPUExecutionProvider"])
    [saved] = list((tmp_path / "opt").iterdir())
    saved.write_bytes(b"garbage")
    seg = OnnxSegmenter(spec, path, optimized_dir=tmp_path / "opt", verified=verified,
                        providers=["CPUExecutionProvider"])
    assert seg.session_options.graph_optimization_level.name == "ORT_ENABLE_ALL"
    assert saved.stat().st_size > 1000 and verified.known_digest(saved) is not None


def test_the_memory_arena_is_off_for_large_inputs_and_kept_between_runs_unless_released(u2netp, model_dir):
    # the arena keeps IS-Net's 1024-px activations (~650 MB) after a run; U²-Net's are small and it is faster
    from dataclasses import replace

    from bgremover.inference.session import ARENA_MAX_SIDE

    key = "memory.enable_memory_arena_shrinkage"
    assert u2netp.session_options.enable_cpu_mem_arena is True
    with pytest.raises(RuntimeError):  # a plain run keeps the arena warm: no shrink entry is set
        u2netp._keep_options.get_run_config_entry(key)
    assert u2netp._shrink_options.get_run_config_entry(key) == "cpu:0"
    # an ensemble asks a small model to hand its arena back too, with the same answers
    batch = u2netp.preprocess(disc_scene()[0])
    np.testing.assert_array_equal(u2netp.run(batch, release=True), u2netp.run(batch))
    big = replace(u2netp.spec, input_size=ARENA_MAX_SIDE)
    seg = OnnxSegmenter(big, u2netp.spec.file_path(model_dir))
    assert seg.session_options.enable_cpu_mem_arena is False
    rgb, inside = disc_scene()
    batch = u2netp.preprocess(rgb)  # (the real u2netp graph takes 320 px whatever the spec says)
    np.testing.assert_array_equal(seg.run(batch), u2netp.run(batch))  # same answers, arena or not
