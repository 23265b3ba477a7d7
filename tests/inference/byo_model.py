"""A real, tiny bring-your-own ONNX model, built in the test: its output is the input's red channel.

Small enough to reason about exactly (8x8 input, no resizing), so the whole session path (spec parsing,
pre-processing, ONNX Runtime, post-processing) can be checked value by value.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

SIZE = 8


def build_red_channel_model(path: Path, size: int = SIZE) -> str:
    """Write the model to ``path``; return its sha256."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 3, size, size])
    y = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, size, size])
    consts = [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in
              (("starts", 0), ("ends", 1), ("axes", 1))]
    node = helper.make_node("Slice", ["img", "starts", "ends", "axes"], ["mask"])
    graph = helper.make_graph([node], "red_channel", [x], [y], initializer=consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by any onnxruntime we support
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_custom_models(toml: Path, model: Path, sha256: str, *, output_norm: str = "none") -> Path:
    """An operator's BGREMOVER_CUSTOM_MODELS file: one model and one preset over it."""
    toml.write_text(f'''
[models.red]
path = "{model}"
sha256 = "{sha256}"
licence = "MIT"
input_name = "img"
input_size = {SIZE}
resize = "bilinear"
value_scale = 255
mean = [0.0, 0.0, 0.0]
std = [1.0, 1.0, 1.0]
output_norm = "{output_norm}"

[presets.red-channel]
credits = 2
description = "Keeps what is red."
models = ["red"]
licence = "MIT"
''')
    return toml
