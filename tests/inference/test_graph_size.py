"""A graph exported for one input size runs at another once its constant upsampling targets are scaled."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from bgremover.errors import ModelError
from bgremover.inference.graph_size import rescale_graph, resized_graph

NATIVE = 16


def two_scale_graph() -> bytes:
    """IS-Net's pattern in miniature: a coarse branch (pooled by 4) is upsampled to the fine branch's size
    (pooled by 2), written as a constant at export time, and added to it."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, NATIVE, NATIVE])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, NATIVE // 2, NATIVE // 2])
    const = lambda name, values: helper.make_node(  # noqa: E731
        "Constant", [], [name], value=helper.make_tensor(name, TensorProto.INT64, [len(values)], values))
    nodes = [
        helper.make_node("MaxPool", ["input"], ["fine"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("MaxPool", ["input"], ["coarse"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Shape", ["coarse"], ["coarse_shape"]),
        const("zero", [0]), const("two", [2]), const("target", [NATIVE // 2, NATIVE // 2]),
        helper.make_node("Slice", ["coarse_shape", "zero", "two", "zero"], ["batch_channels"]),
        helper.make_node("Concat", ["batch_channels", "target"], ["sizes"], axis=0),
        helper.make_node("Resize", ["coarse", "", "", "sizes"], ["up"], mode="nearest"),
        helper.make_node("Add", ["fine", "up"], ["output"]),
    ]
    model = helper.make_model(helper.make_graph(nodes, "two_scale", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def run(graph: bytes, size: int) -> np.ndarray:
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": np.ones((1, 1, size, size), np.float32)})[0]


def test_the_exported_graph_refuses_any_other_size():
    assert run(two_scale_graph(), NATIVE).shape == (1, 1, 8, 8)
    with pytest.raises(Exception, match="dimension|Dimension|shape|Shape"):
        run(two_scale_graph(), 32)


@pytest.mark.parametrize("size", [32, 12, 8])
def test_the_rescaled_graph_runs_at_the_new_size_with_the_same_layers(size):
    out = run(rescale_graph(two_scale_graph(), NATIVE, size), size)
    assert out.shape == (1, 1, size // 2, size // 2)
    assert np.all(out == 2.0)  # both branches of an all-ones photo, added


def test_a_size_the_strides_cannot_reach_is_a_clear_error():
    with pytest.raises(ModelError, match="cannot run at 9 px"):
        rescale_graph(two_scale_graph(), NATIVE, 9)


def test_the_copy_is_written_once_beside_the_optimised_graphs(tmp_path):
    model = tmp_path / "two_scale.onnx"
    model.write_bytes(two_scale_graph())
    first = resized_graph(model, "ab" * 32, NATIVE, 32, tmp_path / ".optimized")
    assert first.name == "two_scale.abababababab.32px.onnx" and run(first.read_bytes(), 32).shape == (1, 1, 16, 16)
    stamp = first.stat().st_mtime_ns
    assert resized_graph(model, "ab" * 32, NATIVE, 32, tmp_path / ".optimized") == first
    assert first.stat().st_mtime_ns == stamp
    assert not [p for p in first.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_registry_runs_a_real_model_at_the_size_asked_for(remover):
    rgb = np.full((120, 160, 3), 200, np.uint8)
    native = remover.registry.get("u2netp")
    larger = remover.registry.get("u2netp", 384)
    assert native.spec.input_size == 320 and native.predict(rgb).shape == (320, 320)
    assert larger.spec.input_size == 384 and larger.predict(rgb).shape == (384, 384)
    assert remover.registry.get("u2netp", 384) is larger  # loaded once
    assert remover.registry.get("u2netp", 320) is native  # its own size is its own session


def test_is_net_at_640_px_sees_what_it_sees_at_1024(remover):
    """The real model, where the operator has fetched it (AGPL-3.0 opt-in; CI does not)."""
    from bgremover.inference.registry import SegmenterRegistry

    registry = SegmenterRegistry(remover.catalog, remover.settings.model_dir, accept_licenses=["agpl-3.0"])
    if not registry.is_available("isnet-imgly"):
        pytest.skip("isnet-imgly is not fetched (AGPL-3.0 weights, opt-in: bgremover models fetch isnet-imgly "
                    "--accept-license agpl-3.0)")
    yy, xx = np.mgrid[0:480, 0:640]
    disc = np.hypot(yy - 240, xx - 320) < 150
    rgb = np.where(disc[..., None], np.array([200, 40, 40], np.uint8), np.array([235, 235, 235], np.uint8))
    small = registry.get("isnet-imgly", 640).predict(rgb)
    full = registry.get("isnet-imgly").predict(rgb)
    assert small.shape == (640, 640) and full.shape == (1024, 1024)
    import cv2
    full_at_640 = cv2.resize(full, (640, 640), interpolation=cv2.INTER_AREA)
    assert np.mean(np.abs(small - full_at_640)) < 0.05
    assert small[320, 320] > 0.9 and small[20, 20] < 0.1


def test_a_model_directory_that_cannot_be_written_falls_back_to_the_temporary_directory(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    model = tmp_path / "two_scale.onnx"
    model.write_bytes(two_scale_graph())
    blocked = tmp_path / "models" / ".optimized"
    blocked.parent.mkdir()
    blocked.write_text("a file where the cache directory should be")  # mkdir fails, even for root
    path = resized_graph(model, "cd" * 32, NATIVE, 32, blocked)
    assert path.parent == tmp_path / "tmp" / "bgremover-graphs"
    assert run(path.read_bytes(), 32).shape == (1, 1, 16, 16)
