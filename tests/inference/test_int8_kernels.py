"""int8 cut-outs do not depend on the CPU: every session asks onnxruntime for exact int8 arithmetic, which on a CPU
without VNNI replaces a saturating instruction (int8_kernels.py), and only VNNI/AMX (or non-x86) CPUs count as
running int8 fast."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bgremover.inference.int8_kernels import EXACT_INT8, cpu_flags, exact_int8, int8_is_fast


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


def _saturating_qdq_model(tmp_path: Path) -> Path:
    """A 3x3 convolution over 64 channels whose uint8 inputs (near 255) times int8 weights (near +-127) overflow
    16 bits in pairs, quantized to QDQ by onnxruntime's own tools."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(0)
    weight = (0.9 + 0.1 * rng.random((8, 64, 3, 3))).astype(np.float32)
    weight[1::2] *= -1  # half the filters negative: both ends of the int8 range
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], name="conv")], "saturating",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])],
        [numpy_helper.from_array(weight, "w")])
    fp32 = tmp_path / "conv.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(fp32))
    inputs = [(0.8 + 0.2 * rng.random((1, 64, 16, 16))).astype(np.float32) for _ in range(4)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(inputs)

        def get_next(self):
            x = next(self.items, None)
            return None if x is None else {"x": x}

    int8 = tmp_path / "conv.int8.onnx"
    quantize_static(str(fp32), str(int8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return int8


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


def test_model_sessions_ask_for_exact_int8(model_dir):
    from bgremover.inference.catalog import load_catalog
    from bgremover.inference.session import OnnxSegmenter

    spec = load_catalog().model("u2netp")
    seg = OnnxSegmenter(spec, model_dir / spec.file, threads=1)
    assert seg.session_options.get_session_config_entry(EXACT_INT8[0]) == EXACT_INT8[1]
