"""int8 cut-outs do not depend on the CPU: every session asks onnxruntime for exact int8 arithmetic, which on a CPU
without VNNI replaces a saturating instruction (int8_kernels.py), and only VNNI/AMX (or non-x86) CPUs count as
running int8 fast. The layers a recipe keeps fp32 run in fp32."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bgremover.inference.int8_kernels import EXACT_INT8, cpu_flags, exact_int8, int8_is_fast, session_kwargs


@pytest.mark.parametrize(("flags", "machine", "fast"), [
    ({"avx2", "fma"}, "x86_64", False),  # VPMADDUBSW saturates: exact kernels are slow ones
    ({"avx2", "avx512f", "avx512bw"}, "x86_64", False),  # AVX-512 before VNNI: the same
    ({"avx2", "avx512f", "avx512_vnni"}, "x86_64", True),
    ({"avx2", "avx_vnni"}, "x86_64", True),
    ({"avx2", "amx_int8"}, "x86_64", True),
    (set(), "aarch64", True),
])
def test_only_vnni_amx_or_another_architecture_run_int8_fast(flags, machine, fast):
    assert int8_is_fast(flags, machine) is fast


def test_this_machines_flags_are_read():
    if not Path("/proc/cpuinfo").is_file():
        pytest.skip("no /proc/cpuinfo here")
    assert cpu_flags()  # a Linux CPU lists its flags


def _quantized(graph, stem: Path, inputs: list[np.ndarray], keep_fp32: list[str] | None = None) -> Path:
    """``graph`` saved as ``STEM.onnx`` and quantized to ``STEM.int8.onnx`` (QDQ, per-channel int8 weights, uint8
    activations calibrated on ``inputs``) by onnxruntime's own tools; ``keep_fp32``: node names left in fp32."""
    import onnx
    from onnx import helper
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    fp32, int8 = stem.with_suffix(".onnx"), stem.with_suffix(".int8.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(fp32))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(inputs)

        def get_next(self):
            x = next(self.items, None)
            return None if x is None else {"x": x}

    quantize_static(str(fp32), str(int8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=keep_fp32 or [])
    return int8


def _saturating_qdq_model(tmp_path: Path) -> Path:
    """A 3x3 convolution over 64 channels whose uint8 inputs (near 255) times int8 weights (near +-127) overflow
    16 bits in pairs, quantized to QDQ by onnxruntime's own tools."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = (0.9 + 0.1 * rng.random((8, 64, 3, 3))).astype(np.float32)
    weight[1::2] *= -1  # half the filters negative: both ends of the int8 range
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], name="conv")], "saturating",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])],
        [numpy_helper.from_array(weight, "w")])
    inputs = [(0.8 + 0.2 * rng.random((1, 64, 16, 16))).astype(np.float32) for _ in range(4)]
    return _quantized(graph, tmp_path / "conv", inputs)


def test_an_int8_convolution_computes_what_its_quantized_arithmetic_says_on_this_cpu(tmp_path):
    import onnxruntime as ort

    model = _saturating_qdq_model(tmp_path)
    x = np.random.default_rng(1).uniform(0.8, 1.0, (1, 64, 16, 16)).astype(np.float32)

    def run(options):
        options.intra_op_num_threads = 1
        return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]

    reference = ort.SessionOptions()  # QDQ left unfused: the quantized arithmetic in float, exact everywhere
    reference.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    expected = run(reference)
    got = run(exact_int8(ort.SessionOptions()))  # fused into int8 kernels, as a model session runs
    step = np.abs(expected).max() / 127  # one step of the output's int8 scale, about
    assert np.abs(got - expected).max() <= 2 * step


def _asks_for_exact_kernels(options) -> bool:
    try:
        return bool(options.get_session_config_entry(EXACT_INT8[0]) == EXACT_INT8[1])
    except RuntimeError:  # onnxruntime's answer for a key that was never set
        return False


@pytest.mark.parametrize(("fast", "asked"), [(False, True), (True, False)])
def test_exact_kernels_are_asked_for_only_where_the_fast_ones_saturate(fast, asked):
    import onnxruntime as ort

    options = exact_int8(ort.SessionOptions(), fast=fast)  # on a VNNI CPU the option only slows int8 down
    assert _asks_for_exact_kernels(options) is asked


def test_model_sessions_ask_for_exact_int8_where_this_cpu_needs_it(model_dir):
    from bgremover.inference.catalog import load_catalog
    from bgremover.inference.session import OnnxSegmenter

    spec = load_catalog().model("u2netp")
    seg = OnnxSegmenter(spec, model_dir / spec.file, threads=1)
    assert _asks_for_exact_kernels(seg.session_options) is not int8_is_fast()


def _mixed_precision_model(tmp_path: Path) -> Path:
    """Three convolutions with biases, quantized to QDQ by onnxruntime's own tools with the middle one kept fp32, as
    a recipe's keep_fp32 does (its input and, through the third, its output are quantized, as in U²-Net's decoder).
    Its filters differ 10,000-fold in size: one int8 scale for the whole tensor (what onnxruntime's
    WeightBiasQuantization pass would give it) rounds the small ones to zero. Outputs: the middle one's, the end."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    first = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    sizes = np.array([1e2, 1e-2, 1e-2, 1e-2], np.float32)[:, None, None, None]
    second = (rng.normal(0, 1, (4, 8, 3, 3)) * sizes).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1", "b1"], ["h"], pads=[1, 1, 1, 1], name="encoder"),
         helper.make_node("Relu", ["h"], ["r"], name="relu"),
         helper.make_node("Conv", ["r", "w2", "b2"], ["y"], pads=[1, 1, 1, 1], name="decoder"),
         helper.make_node("Relu", ["y"], ["yr"], name="relu2"),
         helper.make_node("Conv", ["yr", "w3", "b3"], ["z"], name="head")], "mixed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16, 16]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 2, 16, 16])],
        [numpy_helper.from_array(first, "w1"), numpy_helper.from_array(second, "w2"),
         numpy_helper.from_array(rng.normal(0, 1, (2, 4, 1, 1)).astype(np.float32), "w3"),
         numpy_helper.from_array(np.full(8, 0.1, np.float32), "b1"),
         numpy_helper.from_array(np.zeros(4, np.float32), "b2"),
         numpy_helper.from_array(np.zeros(2, np.float32), "b3")])
    inputs = [rng.random((1, 3, 16, 16)).astype(np.float32) for _ in range(4)]
    return _quantized(graph, tmp_path / "mixed", inputs, keep_fp32=["decoder"])


def _unfused(model: Path, x: np.ndarray) -> np.ndarray:
    """The model's arithmetic as its QDQ graph says, with no optimiser pass: the fp32 layer in fp32."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def _small_filters_error(got: np.ndarray, expected: np.ndarray) -> float:
    """The largest error on the small filters' outputs, relative to their size."""
    return float(np.abs(got[:, 1:] - expected[:, 1:]).max() / np.abs(expected[:, 1:]).max())


def test_a_layer_the_recipe_keeps_fp32_runs_in_fp32_in_an_optimised_session(tmp_path):
    import onnxruntime as ort

    model = _mixed_precision_model(tmp_path)
    x = np.random.default_rng(1).random((1, 3, 16, 16)).astype(np.float32)
    session = ort.InferenceSession(str(model), exact_int8(ort.SessionOptions()), providers=["CPUExecutionProvider"],
                                   **session_kwargs())
    # 1e-3: float rounding; a per-tensor int8 weight scale makes the small filters' outputs all wrong (about 1.0)
    assert _small_filters_error(session.run(None, {"x": x})[0], _unfused(model, x)) < 1e-3


def test_the_saved_optimised_graph_keeps_the_fp32_layer_too(tmp_path):
    from bgremover.inference.optimized import open_cpu_session

    import onnxruntime as ort

    model = _mixed_precision_model(tmp_path)
    x = np.random.default_rng(2).random((1, 3, 16, 16)).astype(np.float32)

    def options(optimise: bool):
        opts = exact_int8(ort.SessionOptions())
        if not optimise:
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return opts

    expected = _unfused(model, x)
    for attempt in ("saving the graph", "loading the saved graph"):
        session = open_cpu_session(model, "0" * 64, tmp_path / "cache", options)
        assert _small_filters_error(session.run(None, {"x": x})[0], expected) < 1e-3, attempt
