"""One ONNX Runtime session per model per process, and the pre/post-processing its spec asks for."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bgremover.errors import ModelError
from bgremover.inference.catalog import ModelSpec
from bgremover.inference.checksums import VerifiedFiles
from bgremover.inference.int8_kernels import exact_int8, int8_is_fast, session_kwargs
from bgremover.inference.optimized import open_cpu_session

log = logging.getLogger(__name__)

_RESAMPLE = {"lanczos": Image.Resampling.LANCZOS, "bilinear": Image.Resampling.BILINEAR,
             "bicubic": Image.Resampling.BICUBIC}


ARENA_MAX_SIDE = 1024  # models with inputs this large or larger run without ORT's CPU memory arena


def default_threads() -> int:
    """Cores this process may run on (its CPU affinity, which containers and taskset narrow), not the host's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def available_providers(prefer_gpu: bool = True) -> list[str]:
    import onnxruntime as ort

    have = ort.get_available_providers()
    order = (["CUDAExecutionProvider"] if prefer_gpu else []) + ["CPUExecutionProvider"]
    return [p for p in order if p in have]


def preprocess(spec: ModelSpec, rgb: np.ndarray) -> np.ndarray:
    """The model's NCHW float32 input for one RGB uint8 photo (also what int8 calibration feeds it)."""
    size = spec.input_size
    # reducing_gap: a box reduction first when the photo is over 6x the input (a 4 MP photo for
    # U²-Net); the same result within 2 levels, and the resize of a 4 MP photo takes 26 ms, not 34
    im = Image.fromarray(rgb).resize((size, size), _RESAMPLE.get(spec.resize, Image.Resampling.BILINEAR),
                                     reducing_gap=3.0)
    x: np.ndarray = np.asarray(im, dtype=np.float32)
    if spec.value_scale == "max":
        x = x / max(float(x.max()), 1e-6)
    else:
        x = x / float(spec.value_scale)
    x = (x - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return x.transpose(2, 0, 1)[None].astype(np.float32)


class OnnxSegmenter:
    """Runs one segmentation model: RGB uint8 photo in, probability map at model resolution out.

    Threads: intra-op = the cores this process may use; inter-op = 1 (ORT_PARALLEL was slower on u2net);
    full graph optimisation (ORT_ENABLE_EXTENDED was slower). Memory: ORT's CPU arena grows in powers
    of two and keeps its blocks, so a process that held U²-Net, U²-Net-p and IS-Net sat on over 1 GB of
    idle arena while the photo was refined (the Apache HQ preset peaked at 2180 MB on a 36 MP photo).
    The arena stays on (off cost 10-30 % more CPU per run) and is kept between runs: shrinking it after
    every run made a single U²-Net run 13 % slower on a quiet machine (0.740 vs 0.654 s). Only an
    ensemble asks for it with ``run(..., release=True)`` beside a model too large for an arena, or on a
    huge photo, so that arenas do not add up (``pipeline.ensemble.hand_back_arenas``). Models whose
    input side is ``ARENA_MAX_SIDE`` or more run without it: IS-Net at 1024 px peaked about 650 MB
    higher with it, for about 5 % less CPU. Idle
    threads do not spin (``spin=False``): a service decodes and encodes beside inference, and on the
    shared 2-core machine spinning cost about 12% more CPU per u2net run for no gain in latency.
    With ``optimized_dir``, the optimised graph is saved there and reused (see ``optimized.py``).
    """

    def __init__(self, spec: ModelSpec, path: Path, *, threads: int = 0, providers: list[str] | None = None,
                 spin: bool = False, optimized_dir: Path | None = None, verified: VerifiedFiles | None = None) -> None:
        import onnxruntime as ort

        self.spec = spec
        self.providers = providers or available_providers()
        n_threads = threads or default_threads()

        def make_options(optimise: bool) -> ort.SessionOptions:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = n_threads
            opts.inter_op_num_threads = 1
            opts.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimise
                                             else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
            opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
            exact_int8(opts)  # never the saturating int8 kernels of a CPU without VNNI (int8_kernels.py)
            opts.enable_cpu_mem_arena = spec.input_size < ARENA_MAX_SIDE
            opts.enable_mem_pattern = spec.input_size < ARENA_MAX_SIDE
            return opts

        try:
            if optimized_dir is not None and self.providers == ["CPUExecutionProvider"]:
                self._session = open_cpu_session(path, spec.sha256, optimized_dir, make_options, verified)
            else:
                self._session = ort.InferenceSession(str(path), sess_options=make_options(True),
                                                     providers=self.providers, **session_kwargs())
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"could not load model {spec.id} from {path}: {exc}") from exc
        self._keep_options = ort.RunOptions()
        self._shrink_options = ort.RunOptions()
        if self._session.get_session_options().enable_cpu_mem_arena:
            self._shrink_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self.input_name = spec.input_name or self._session.get_inputs()[0].name
        log.info("model %s loaded from %s: providers %s, %d intra-op threads", spec.id, path,
                 self._session.get_providers(), n_threads)
        if spec.quantize is not None and not int8_is_fast() and "CPUExecutionProvider" in self.active_providers:
            log.warning("model %s is int8, and this CPU has no VNNI: it runs exact but about as slow as the fp32 "
                        "model (README, 'Speed and memory')", spec.id)
        if self.providers[0] != "CPUExecutionProvider" and self._session.get_providers()[0] == "CPUExecutionProvider":
            log.warning("model %s: %s was asked for but the session runs on the CPU", spec.id, self.providers[0])

    @property
    def session_options(self) -> Any:
        """The options the session really runs with (onnxruntime.SessionOptions)."""
        return self._session.get_session_options()

    @property
    def keeps_arena(self) -> bool:
        """Whether this session runs on ORT's CPU memory arena (small inputs) or allocates per run."""
        return bool(self.session_options.enable_cpu_mem_arena)

    @property
    def active_providers(self) -> list[str]:
        return list(self._session.get_providers())

    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        return preprocess(self.spec, rgb)

    def run(self, batch: np.ndarray, *, release: bool = False) -> np.ndarray:
        """Raw model output for a preprocessed NCHW batch: N x H x W float32. ``release``: hand the
        memory arena back after this run (an ensemble does, so its models' arenas do not add up)."""
        opts = self._shrink_options if release else self._keep_options
        out = self._session.run(None, {self.input_name: batch}, opts)[self.spec.output_index]
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
