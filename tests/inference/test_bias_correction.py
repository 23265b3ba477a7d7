"""Bias correction: int8 convolutions' mean outputs are moved to fp32's by shifting their biases, on a real network."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

from bgremover.inference.bias_correction import bias_corrected, conv_means, with_bias_shift


def small_net(seed: int = 0) -> Any:
    """conv 3→8, ReLU, conv 8→8, ReLU, conv 8→4: random weights, and a bias a ReLU can take away."""
    rng = np.random.default_rng(seed)
    shapes = [(8, 3), (8, 8), (4, 8)]
    nodes, inits, x = [], [], "x"
    for i, (cout, cin) in enumerate(shapes):
        w = rng.normal(0, 1 / np.sqrt(cin * 9), (cout, cin, 3, 3)).astype(np.float32)
        b = rng.normal(0.1, 0.2, cout).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], name=f"conv{i}", pads=[1, 1, 1, 1]))
        x = f"c{i}"
        if i < len(shapes) - 1:
            nodes.append(helper.make_node("Relu", [x], [f"r{i}"], name=f"relu{i}"))
            x = f"r{i}"
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 24, 24])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 4, 24, 24])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def inputs(n: int = 12, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 1, (1, 3, 24, 24)).astype(np.float32) for _ in range(n)]


def run(model: Any, x: np.ndarray, output: str) -> np.ndarray:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    if output not in [o.name for o in m.graph.output]:
        m.graph.output.append(helper.make_tensor_value_info(output, TensorProto.FLOAT, None))
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run([output], {"x": x})[0])


class Reader:
    def __init__(self, batches: list[np.ndarray]) -> None:
        self.items = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self.items, None)
        return None if x is None else {"x": x}


def int8_maker(batches: list[np.ndarray], workdir: Path, exclude: list[str]) -> Any:
    def quantize(fp32: Any) -> Any:
        fresh = onnx.ModelProto()
        fresh.CopyFrom(fp32)
        dest = workdir / "int8.onnx"
        quantize_static(fresh, str(dest), Reader(batches), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=exclude,
                        calibrate_method=CalibrationMethod.MinMax, calibration_cache_path=str(workdir / "ranges.json"))
        return onnx.load(str(dest))
    return quantize


def test_conv_means_are_each_channels_mean_output_over_all_inputs() -> None:
    net, batches = small_net(), inputs(4)
    means = conv_means(net, {"conv0", "conv2"}, "x", batches)
    assert set(means) == {"conv0", "conv2"}
    expected = np.mean([run(net, x, "c2").mean(axis=(0, 2, 3)) for x in batches], axis=0)
    np.testing.assert_allclose(means["conv2"], expected, rtol=1e-5, atol=1e-6)
    assert means["conv0"].shape == (8,)


def test_a_bias_shift_moves_only_the_named_convolutions_biases() -> None:
    net = small_net()
    shifted = with_bias_shift(net, {"conv1": np.arange(8, dtype=np.float64)})
    before = {t.name: numpy_helper.to_array(t) for t in net.graph.initializer}
    after = {t.name: numpy_helper.to_array(t) for t in shifted.graph.initializer}
    np.testing.assert_allclose(after["b1"], before["b1"] - np.arange(8), rtol=1e-6)
    assert all(np.array_equal(after[k], before[k]) for k in before if k != "b1")  # and the original is untouched
    x = inputs(1)[0]
    np.testing.assert_allclose(run(shifted, x, "c1"), run(net, x, "c1") - np.arange(8).reshape(1, 8, 1, 1), atol=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_corrected_int8_means_are_closer_to_fp32_than_plain_int8(seed: int) -> None:
    """The mechanism on a network with a real int8 error: the last layer's mean error per channel shrinks."""
    net, batches = small_net(seed), inputs()
    target = conv_means(net, {"conv2"}, "x", batches)["conv2"]
    with tempfile.TemporaryDirectory() as tmp:
        plain = int8_maker(batches, Path(tmp), [])(net)
    with tempfile.TemporaryDirectory() as tmp:
        corrected = bias_corrected(net, int8_maker(batches, Path(tmp), []), exclude=[], input_name="x",
                                   batches=batches, rounds=3, damping=0.5)
    plain_error = np.abs(conv_means(plain, {"conv2"}, "x", batches)["conv2"] - target).mean()
    corrected_error = np.abs(conv_means(corrected, {"conv2"}, "x", batches)["conv2"] - target).mean()
    assert plain_error > 1e-4  # int8 did leave an error to correct
    assert corrected_error < 0.7 * plain_error, (plain_error, corrected_error)  # 0.08-0.52 on seeds 0-5 here


def test_excluded_convolutions_keep_their_fp32_bias() -> None:
    net, batches = small_net(), inputs(6)
    with tempfile.TemporaryDirectory() as tmp:
        corrected = bias_corrected(net, int8_maker(batches, Path(tmp), ["conv2"]), exclude=["conv2"], input_name="x",
                                   batches=batches, rounds=2, damping=0.5)
    corrected_biases = {t.name: numpy_helper.to_array(t) for t in corrected.graph.initializer}
    fp32_biases = {t.name: numpy_helper.to_array(t) for t in net.graph.initializer}
    assert np.array_equal(corrected_biases["b2"], fp32_biases["b2"])  # the fp32 Conv's bias, as it was
