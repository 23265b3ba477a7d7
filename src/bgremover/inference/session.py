"""One ONNX Runtime session per model per process, and the pre/post-processing its spec asks for."""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from bgremover.errors import ModelError
from bgremover.inference.catalog import ModelSpec

log = logging.getLogger(__name__)

_RESAMPLE = {"lanczos": Image.Resampling.LANCZOS, "bilinear": Image.Resampling.BILINEAR,
             "bicubic": Image.Resampling.BICUBIC}


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


def available_providers(prefer_gpu: bool = True) -> list[str]:
    import onnxruntime as ort

    have = ort.get_available_providers()
    order = (["CUDAExecutionProvider"] if prefer_gpu else []) + ["CPUExecutionProvider"]
    return [p for p in order if p in have]


class OnnxSegmenter:
    """Runs one segmentation model: RGB uint8 photo in, probability map at model resolution out."""

    def __init__(self, spec: ModelSpec, path: Path, *, threads: int = 0, providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        self.spec = spec
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or default_threads()
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.providers = providers or available_providers()
        try:
            self._session = ort.InferenceSession(str(path), sess_options=opts, providers=self.providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"could not load model {spec.id} from {path}: {exc}") from exc
        self._lock = threading.Lock()
        self.input_name = spec.input_name or self._session.get_inputs()[0].name
        log.info("model %s loaded with providers %s", spec.id, self._session.get_providers())

    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        s = self.spec
        size = s.input_size
        im = Image.fromarray(rgb).resize((size, size), _RESAMPLE.get(s.resize, Image.Resampling.BILINEAR))
        x = np.asarray(im, dtype=np.float32)
        if s.value_scale == "max":
            x = x / max(float(x.max()), 1e-6)
        else:
            x = x / float(s.value_scale)
        x = (x - np.asarray(s.mean, np.float32)) / np.asarray(s.std, np.float32)
        return x.transpose(2, 0, 1)[None].astype(np.float32)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Raw model output for a preprocessed NCHW batch: N x H x W float32."""
        out = self._session.run(None, {self.input_name: batch})[self.spec.output_index]
        return np.asarray(out, dtype=np.float32)[:, 0]

    def postprocess(self, pred: np.ndarray) -> np.ndarray:
        if self.spec.output_norm == "minmax":
            lo, hi = float(pred.min()), float(pred.max())
            pred = (pred - lo) / max(hi - lo, 1e-6)
        elif self.spec.output_norm == "sigmoid":
            pred = 1.0 / (1.0 + np.exp(-pred))
        return np.clip(pred, 0.0, 1.0)

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """Probability map (input_size x input_size, float32 in [0, 1]) for one photo."""
        return self.postprocess(self.run(self.preprocess(rgb))[0])
