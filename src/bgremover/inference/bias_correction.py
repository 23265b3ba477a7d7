"""Empirical bias correction of an int8 copy: each int8 convolution's bias moves until its mean output matches fp32.

Rounding weights and activations to 8 bits adds noise, and also a *systematic* error per output channel.
Through U²-Net's many layers the systematic error added up: the int8 map came out a little less sure of the
subject everywhere, with more holes than fp32 (README, "Speed and memory"). So the build measures the mean
output of every int8 convolution, channel by channel, on the calibration inputs, in fp32 and in int8.
It subtracts a share (``damping``) of the difference from that convolution's fp32 bias and quantizes again.
This repeats for ``rounds`` rounds, because a correction upstream changes the error downstream. That is the
empirical variant of the bias correction in Nagel et al., "Data-Free Quantization Through Weight
Equalization and Bias Correction" (ICCV 2019). onnxruntime's quantization tools do not offer it.

Means come from ``ReduceMean`` nodes added to a copy of the graph, so no activation map leaves onnxruntime.
The measuring sessions use a fixed number of threads, so that a rebuild gives the same bytes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bgremover.inference.int8_kernels import exact_int8, session_kwargs

MEASURE_THREADS = 2  # fixed, not the machine's core count: the sums, and so the bytes, must not depend on it


def _with_mean_outputs(model: Any, convs: set[str]) -> Any:
    """A copy of ``model`` that also outputs, for each named Conv, its output's mean per channel."""
    import onnx
    from onnx import helper

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for node in list(copy.graph.node):
        if node.op_type == "Conv" and node.name in convs:
            out = node.output[0]
            copy.graph.node.append(helper.make_node("ReduceMean", [out], [f"{out}.mean"], axes=[0, 2, 3], keepdims=0))
            copy.graph.output.append(helper.make_tensor_value_info(f"{out}.mean", onnx.TensorProto.FLOAT, None))
    return copy


def conv_means(model: Any, convs: set[str], input_name: str, batches: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Each named Conv's mean output per channel over all ``batches`` (float64)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = MEASURE_THREADS
    opts.inter_op_num_threads = 1
    exact_int8(opts)  # the int8 means are those of exact arithmetic, whatever this CPU (int8_kernels.py)
    session = ort.InferenceSession(_with_mean_outputs(model, convs).SerializeToString(), opts,
                                   providers=["CPUExecutionProvider"], **session_kwargs())
    outputs = {n.output[0] + ".mean": n.name for n in model.graph.node if n.op_type == "Conv" and n.name in convs}
    names = list(outputs)
    sums: list[np.ndarray] = [np.zeros(0)] * len(names)
    for i, x in enumerate(batches):
        means = [np.asarray(r, np.float64) for r in session.run(names, {input_name: x})]
        sums = means if i == 0 else [s + m for s, m in zip(sums, means)]
    return {outputs[n]: s / len(batches) for n, s in zip(names, sums)}


def with_bias_shift(model: Any, shifts: dict[str, np.ndarray]) -> Any:
    """A copy of ``model`` with ``shifts[conv]`` subtracted from each named Conv's bias (per output channel)."""
    import onnx
    from onnx import numpy_helper

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    biases = {t.name: t for t in copy.graph.initializer}
    for node in copy.graph.node:
        if node.name in shifts and len(node.input) > 2 and node.input[2] in biases:
            tensor = biases[node.input[2]]
            bias = numpy_helper.to_array(tensor).astype(np.float64) - shifts[node.name]
            tensor.CopyFrom(numpy_helper.from_array(bias.astype(np.float32), tensor.name))
    return copy


def bias_corrected(model: Any, quantize: Callable[[Any], Any], *, exclude: list[str], input_name: str,
                   batches: list[np.ndarray], rounds: int, damping: float) -> Any:
    """The int8 model ``quantize`` makes of ``model`` after ``rounds`` rounds of bias correction.

    ``quantize`` takes an fp32 ModelProto and returns its int8 ModelProto, with activation ranges calibrated
    once on the uncorrected model (a correction moves a mean by a small fraction of a range)."""
    convs = {n.name for n in model.graph.node if n.op_type == "Conv" and n.name not in exclude}
    target = conv_means(model, convs, input_name, batches)
    shifts = {name: np.zeros_like(mean) for name, mean in target.items()}
    int8 = quantize(model)
    for _ in range(rounds):
        measured = conv_means(int8, convs, input_name, batches)
        for name, mean in target.items():
            shifts[name] += damping * (measured[name] - mean)
        int8 = quantize(with_bias_shift(model, shifts))
    return int8
