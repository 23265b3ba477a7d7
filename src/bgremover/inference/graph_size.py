"""A copy of a model's graph that takes a smaller (or larger) square input than it was exported for.

IS-Net was exported at 1024 px with every upsampling target written into the graph as a constant
(``Resize`` sizes = the batch and channel dimensions of the source, then e.g. ``[32, 32]``), so it
refuses any other input. Its layers are convolutional, so scaling those constants by
``size / native`` gives the same network at another resolution: at 640 px it takes about 40 % of
the time, and in an ensemble with U²-Net its map serves as well (README, "Quality"). The copy is
derived from a verified file and written once beside the optimised graphs (``.optimized/``).
"""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from bgremover.errors import ModelError

log = logging.getLogger(__name__)


def resized_graph_path(cache_dir: Path, model_path: Path, sha256: str, size: int) -> Path:
    return cache_dir / f"{model_path.stem}.{sha256[:12]}.{size}px.onnx"


def rescale_graph(model_bytes: bytes, native: int, size: int) -> bytes:
    """The serialized graph with its square input and constant ``Resize`` targets scaled to ``size``.

    Raises ModelError when a target would not be a whole number of pixels at ``size`` (the
    network's strides need sizes divisible by its deepest down-sampling: 64 for IS-Net).
    """
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    scaled: set[str] = set()
    for node in graph.node:
        if node.op_type != "Resize" or len(node.input) < 4 or not node.input[3]:
            continue
        sizes = producer.get(node.input[3])
        if sizes is None or sizes.op_type != "Concat":  # a computed or absent target follows the input already
            continue
        for name in sizes.input:
            const = producer.get(name)
            if const is None or const.op_type != "Constant" or name in scaled:
                continue
            value = numpy_helper.to_array(const.attribute[0].t)
            if value.ndim != 1 or value.size != 2:
                continue
            target = value * size / native
            if not np.allclose(target, np.round(target)):
                raise ModelError(f"the graph cannot run at {size} px: an upsampling target of {value.tolist()} px at "
                                 f"{native} px would be {target.tolist()} px; "
                                 f"use a multiple of {native // value.min()}")
            const.attribute[0].t.CopyFrom(numpy_helper.from_array(np.round(target).astype(value.dtype)))
            scaled.add(name)
    for tensor in list(graph.input) + list(graph.output):
        dims = tensor.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[2].dim_value == native and dims[3].dim_value == native:
            dims[2].dim_value = size
            dims[3].dim_value = size
        elif len(dims) == 4:  # a side output at a fraction of the input: let the runtime infer it
            dims[2].dim_param, dims[3].dim_param = "h", "w"
    del graph.value_info[:]  # shapes recorded for the native size no longer hold
    return bytes(model.SerializeToString())


def resized_graph(model_path: Path, sha256: str, native: int, size: int, cache_dir: Path) -> Path:
    """The rescaled copy of a verified model file, written once to ``cache_dir`` (atomically).

    A read-only model directory (a packaged install, a mounted volume) falls back to the system's
    temporary directory, as the optimised-graph cache falls back to optimising at every load.
    """
    data: bytes | None = None
    for directory in (cache_dir, Path(tempfile.gettempdir()) / "bgremover-graphs"):
        path = resized_graph_path(directory, model_path, sha256, size)
        if path.is_file():
            return path
        data = data or rescale_graph(model_path.read_bytes(), native, size)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
            return path
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.info("cannot write the %d px graph of %s to %s (%s)", size, model_path.name, directory, exc)
    raise ModelError(f"cannot write the {size} px graph of {model_path.name} to {cache_dir} or the temporary directory")
