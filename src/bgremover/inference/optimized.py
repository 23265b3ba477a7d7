"""ONNX Runtime's optimised graph, saved once per model, onnxruntime version and CPU, so later starts skip it.

Optimising u2net at load (ORT_ENABLE_ALL) takes about three times as long as loading the already
optimised graph with optimisation off, and the outputs are identical (max abs diff 0.0 on u2netp).
The saved graph may hold layout choices for this CPU's vector units, so its name carries the CPU's
feature flags and the onnxruntime version; a graph that will not load is deleted and made again.
Only for the CPU provider: a GPU session optimises for its own device.
"""
from __future__ import annotations

import hashlib
import logging
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bgremover.inference.checksums import VerifiedFiles, sha256_file
from bgremover.inference.int8_kernels import cpu_flags, session_kwargs

log = logging.getLogger(__name__)

OPTIMIZED_DIR = ".optimized"


# Part of the saved graph's name: graphs saved before sessions asked for exact int8 kernels ("x8") hold the
# saturating ones on a CPU without VNNI, and graphs saved before the fp32 layers were kept fp32 ("f") hold them in
# int8 (int8_kernels.py): neither may be reused.
GRAPH_OPTIONS = "x8f"


def cpu_fingerprint() -> str:
    """What decides which kernels and layouts ORT picks: architecture and instruction-set flags."""
    text = f"{platform.machine()}|{platform.processor()}|{' '.join(sorted(cpu_flags()))}"
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def optimized_path(cache_dir: Path, model_path: Path, sha256: str) -> Path:
    import onnxruntime as ort

    return (cache_dir / f"{model_path.stem}.{sha256[:12]}.ort{ort.__version__}.{cpu_fingerprint()}"
                        f".{GRAPH_OPTIONS}.onnx")


def open_cpu_session(model_path: Path, sha256: str, cache_dir: Path, make_options: Callable[[bool], Any],
                     verified: VerifiedFiles | None = None) -> Any:
    """An InferenceSession on the CPU, from the saved optimised graph when there is one, else saving it.

    ``make_options(optimise)`` builds fresh SessionOptions with graph optimisation on or off. With
    ``verified``, a saved graph is used only if it is unchanged since we wrote it (size and mtime).
    """
    import onnxruntime as ort

    cached = optimized_path(cache_dir, model_path, sha256)
    providers = ["CPUExecutionProvider"]
    if cached.is_file() and verified is not None and verified.known_digest(cached) is None:
        log.warning("saved optimised graph %s changed since it was written; rebuilding it", cached)
        cached.unlink(missing_ok=True)
    if cached.is_file():
        try:
            return ort.InferenceSession(str(cached), sess_options=make_options(False), providers=providers,
                                        **session_kwargs())
        except Exception as exc:  # stale or damaged: make it again
            log.warning("saved optimised graph %s does not load (%s); rebuilding it", cached, exc)
            cached.unlink(missing_ok=True)
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        opts = make_options(True)
        opts.optimized_model_filepath = str(tmp)
        opts.log_severity_level = 3  # ORT warns that the saved graph is CPU-specific: that is why it is keyed so
        session = ort.InferenceSession(str(model_path), sess_options=opts, providers=providers, **session_kwargs())
        os.replace(tmp, cached)
        if verified is not None:
            verified.remember(cached, sha256_file(cached))
        log.info("saved the optimised graph of %s to %s", model_path.name, cached)
        return session
    except OSError as exc:  # read-only model dir: optimise at every load, as without the cache
        log.info("cannot save the optimised graph in %s (%s)", cache_dir, exc)
        tmp.unlink(missing_ok=True)
        return ort.InferenceSession(str(model_path), sess_options=make_options(True), providers=providers,
                                    **session_kwargs())
