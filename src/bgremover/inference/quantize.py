"""An int8 copy of an fp32 model, made with onnxruntime's static quantization on photos shipped with the package.

U²-Net spends almost all of a cut-out's time in its convolutions; with int8 weights and activations
(QDQ format, per-channel weight scales) onnxruntime runs them on the CPU's integer dot-product
instructions. The activation ranges are calibrated on ``assets/calibration`` (public-domain and CC0
photos, see its README) and the package's own ``sample.jpg``, each also mirrored, preprocessed exactly
as at inference, never on evaluation photos. A recipe (``[models.X.quantize]`` in ``catalog.toml``,
:class:`~bgremover.inference.catalog.QuantRecipe`) names the calibration method and the layers that
stay fp32 where int8 costs quality, and how many rounds of bias correction follow (``bias_correction.py``).
Deterministic: the same inputs, recipe and onnxruntime version
give the same bytes (tests/inference/test_quantize.py builds twice and compares the sha256).
"""
from __future__ import annotations

import fnmatch
import logging
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from bgremover.imaging.decode import decode_image
from bgremover.inference.bias_correction import bias_corrected
from bgremover.inference.catalog import ModelSpec, QuantRecipe
from bgremover.inference.session import preprocess

log = logging.getLogger(__name__)

METHODS = ("minmax", "entropy", "percentile")
OPSET = 13


def calibration_photos() -> list[Path]:
    """The photos int8 ranges are calibrated on: ``assets/calibration/*.jpg`` and ``assets/sample.jpg``, sorted."""
    assets = Path(str(resources.files("bgremover") / "assets"))
    return sorted((assets / "calibration").glob("*.jpg")) + [assets / "sample.jpg"]


def _views(rgb: np.ndarray) -> list[np.ndarray]:
    """Nine more inputs from one photo: its mirror, a quarter turn, three crops (the centre, the top half, the
    right half: a subject fills more or less of the frame), darker, brighter, stronger contrast and inverted.
    Five shipped photos alone give activation ranges too narrow for the photos customers send: on the tuning
    set (../shared/eval/dev-large) these views took U²-Net int8's extra MAE_raw over fp32 from +0.0015 to
    +0.0009 and its extra holes from +1.2 to +0.4 points (README, "Speed and memory")."""
    h, w = rgb.shape[:2]
    f = rgb.astype(np.float32)
    tone = [np.clip(f * 0.6, 0, 255), np.clip(f * 1.4, 0, 255), np.clip((f - 128) * 1.5 + 128, 0, 255)]
    return [rgb[:, ::-1], np.rot90(rgb), rgb[h // 4: 3 * h // 4, w // 4: 3 * w // 4], rgb[: h // 2], rgb[:, w // 2:],
            *(t.astype(np.uint8) for t in tone), 255 - rgb]


def calibration_inputs(spec: ModelSpec, photos: list[Path], augment: bool = False) -> list[np.ndarray]:
    """Each photo as the model sees it, and mirrored (a mirrored photo is as likely an input); with ``augment``
    the views of :func:`_views` as well (the mirror is one of them)."""
    batches = []
    for photo in photos:
        rgb = decode_image(photo.read_bytes()).rgb
        x = preprocess(spec, rgb)
        if augment:
            batches += [x] + [preprocess(spec, np.ascontiguousarray(v)) for v in _views(rgb)]
        else:
            batches += [x, np.ascontiguousarray(x[..., ::-1])]
    return batches


def fp32_nodes(model: Any, recipe: QuantRecipe) -> list[str]:
    """Names of the nodes the recipe keeps fp32: those whose weights match a ``keep_fp32`` pattern, and the
    first convolution (the one that reads the photo) when ``keep_first_conv``."""
    initializers = {t.name for t in model.graph.initializer}
    keep = []
    for node in model.graph.node:
        weights = [i for i in node.input if i in initializers]
        if any(fnmatch.fnmatchcase(w, p) for w in weights for p in recipe.keep_fp32):
            keep.append(node.name)
    if recipe.keep_first_conv:
        inputs = {i.name for i in model.graph.input}
        keep += [n.name for n in model.graph.node if n.op_type == "Conv" and n.input[0] in inputs]
    return keep


def _no_preprocess_hint(record: logging.LogRecord) -> bool:
    """onnxruntime advises its optional pre-pass (shape inference, graph clean-up) on every call; we quantize
    the checksummed graph as published, so the advice would only clutter ``models fetch``."""
    return "pre-processing" not in record.getMessage()


class _Batches:
    """onnxruntime's CalibrationDataReader over a list of preprocessed inputs."""

    def __init__(self, input_name: str, batches: list[np.ndarray]) -> None:
        self._items: Iterator[np.ndarray] = iter(batches)
        self._name = input_name

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._items, None)
        return None if x is None else {self._name: x}

    def rewind(self) -> None:  # part of the reader protocol; one pass is all calibration needs
        pass


def quantize_model(source: Path, dest: Path, spec: ModelSpec, recipe: QuantRecipe,
                   photos: list[Path] | None = None) -> None:
    """Write the int8 (QDQ) copy of ``source`` to ``dest``; the activation ranges are calibrated once (kept in a
    temporary directory) and reused by every round of the recipe's bias correction (bias_correction.py)."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if recipe.method not in METHODS:
        raise ValueError(f"quantize.method must be one of {', '.join(METHODS)}, not {recipe.method!r}")
    model = onnx.load(str(source))
    exclude = fp32_nodes(model, recipe)
    if model.opset_import[0].version < OPSET:  # per-channel scales need DequantizeLinear's axis (opset 13)
        model = version_converter.convert_version(model, OPSET)
    batches = calibration_inputs(spec, photos if photos is not None else calibration_photos(), recipe.augment)
    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[recipe.method]
    extra: dict[str, Any] = {"ActivationSymmetric": recipe.symmetric_activations, "WeightSymmetric": True}
    if recipe.method == "percentile":
        extra["CalibPercentile"] = recipe.percentile
    reader = _Batches(spec.input_name, batches)
    root = logging.getLogger()
    root.addFilter(_no_preprocess_hint)
    try:
        with tempfile.TemporaryDirectory(prefix="bgremover-quantize-") as tmp:
            ranges = Path(tmp) / "ranges.json"

            def quantize(fp32: Any) -> Any:
                """Write the int8 copy of ``fp32`` to ``dest`` and return it; ranges are calibrated on the first
                call and read from ``ranges`` after that."""
                fresh = onnx.ModelProto()
                fresh.CopyFrom(fp32)  # quantize_static moves the weights of the proto it is given to a temporary file
                quantize_static(
                    fresh, str(dest), reader, quant_format=QuantFormat.QDQ,
                    per_channel=recipe.per_channel, reduce_range=recipe.reduce_range,
                    activation_type=QuantType.QInt8 if recipe.symmetric_activations else QuantType.QUInt8,
                    weight_type=QuantType.QInt8, nodes_to_exclude=exclude, calibrate_method=method,
                    extra_options=extra, calibration_cache_path=str(ranges))
                return onnx.load(str(dest))

            if recipe.bias_correction_rounds:
                bias_corrected(model, quantize, exclude=exclude, input_name=spec.input_name, batches=batches,
                               rounds=recipe.bias_correction_rounds, damping=recipe.bias_correction_damping)
            else:
                quantize(model)
    finally:
        root.removeFilter(_no_preprocess_hint)
    log.info("int8 copy of %s written to %s (%d nodes kept fp32, %s calibration on %d inputs, %d rounds of bias "
             "correction)", source.name, dest, len(exclude), recipe.method, len(batches), recipe.bias_correction_rounds)

