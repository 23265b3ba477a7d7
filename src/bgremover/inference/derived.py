"""Models built on this machine from a verified catalog model (the int8 copies), and the manifest that records them.

A derived model has no sha256 in the catalog: its bytes depend on the onnxruntime version that
quantized it. ``models fetch`` builds it (inference/quantize.py) and writes an entry in
``MODEL_DIR/derived-manifest.json``: the file's sha256 and size, the source model's sha256, the
recipe, the onnxruntime and onnx versions and the calibration photos with their sha256, and how long
the build took. The registry loads the file only if that entry matches what the catalog asks for now
(same source, same recipe, same calibration photos) and the file's sha256 is the recorded one, so a
changed recipe or a damaged file is a clear "run models fetch", never a silently different model.
A fresh machine with the same versions builds the same bytes (tests/inference/test_quantize.py).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from bgremover.errors import ModelError
from bgremover.inference.catalog import Catalog, ModelSpec
from bgremover.inference.checksums import VerifiedFiles, sha256_file

log = logging.getLogger(__name__)

MANIFEST = "derived-manifest.json"
_BUILD_KEYS = ("source", "recipe", "calibration")  # what must match for a built file to be the catalog's model


def read_manifest(model_dir: Path) -> dict[str, dict[str, Any]]:
    path = Path(model_dir) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s (%s); derived models will be rebuilt", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _write_manifest(model_dir: Path, data: dict[str, dict[str, Any]]) -> None:
    path = Path(model_dir) / MANIFEST
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


@functools.lru_cache(maxsize=1)
def _calibration_record() -> tuple[tuple[str, str], ...]:
    from bgremover.inference.quantize import calibration_photos

    return tuple((p.name, sha256_file(p)) for p in calibration_photos())  # shipped files: read once per process


def build_inputs(spec: ModelSpec, catalog: Catalog) -> dict[str, Any]:
    """What the build reads: the source model, the recipe and the calibration photos (name and sha256)."""
    if spec.derived_from is None or spec.quantize is None:
        raise ModelError(f"model {spec.id} is not derived from another model")
    source = catalog.model(spec.derived_from)
    return {"source": {"id": source.id, "sha256": source.sha256},
            # int8_kernels: the bias correction measured exact int8 arithmetic (a build before that, on a CPU
            # without VNNI, corrected towards saturating kernels); fp32_layers: it measured the keep_fp32 layers in
            # fp32 (before that, onnxruntime had quantized them per tensor: int8_kernels.py)
            "recipe": {"precision": "int8", "int8_kernels": "exact", "fp32_layers": "kept",
                       **dataclasses.asdict(spec.quantize)},
            "calibration": [{"name": name, "sha256": digest} for name, digest in _calibration_record()]}


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))  # tuples become lists, as they are read back from the manifest


def recorded_sha256(spec: ModelSpec, catalog: Catalog, model_dir: Path) -> str | None:
    """The sha256 the manifest records for ``spec``, if it was built from what the catalog asks for now."""
    entry = read_manifest(model_dir).get(spec.id)
    if not entry or entry.get("file") != spec.file:
        return None
    wanted = _as_json(build_inputs(spec, catalog))
    if any(entry.get(k) != wanted[k] for k in _BUILD_KEYS):
        return None
    return str(entry.get("sha256", "")) or None


def status(spec: ModelSpec, catalog: Catalog, model_dir: Path, verified: VerifiedFiles) -> str:
    """``fetched`` (built from the current recipe, file intact), ``missing`` (not built, or built from another
    recipe or source) or ``corrupt`` (the file is not the one recorded)."""
    path = spec.file_path(model_dir)
    digest = recorded_sha256(spec, catalog, model_dir)
    if digest is None or not path.is_file():
        return "missing"
    return "fetched" if verified.matches(path, digest) else "corrupt"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def remove_stale_partials(dest: Path) -> None:
    """Delete ``.NAME.PID.tmp`` files that a build killed outright (SIGKILL, power loss) left beside ``dest``;
    a partial whose process still runs is another build in progress and stays."""
    for tmp in dest.parent.glob(f".{dest.name}.*.tmp"):
        pid = tmp.name[len(dest.name) + 2: -len(".tmp")]
        if pid.isdigit() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            log.info("removed %s, left by a build that was killed", tmp.name)


def build(spec: ModelSpec, catalog: Catalog, model_dir: Path, verified: VerifiedFiles) -> dict[str, Any]:
    """Quantize the (verified) source model into ``spec``'s file and record it; returns the manifest entry."""
    import onnx
    import onnxruntime as ort

    from bgremover.inference.quantize import quantize_model

    source = catalog.model(spec.derived_from or "")
    source_path = source.file_path(model_dir)
    if verified.digest(source_path) != source.sha256:
        raise ModelError(f"cannot build {spec.id}: {source_path} fails its checksum; run: bgremover models fetch "
                         f"{source.id}")
    inputs = build_inputs(spec, catalog)
    dest = spec.file_path(model_dir)
    remove_stale_partials(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    started = time.perf_counter()
    try:
        quantize_model(source_path, tmp, source, spec.quantize)  # type: ignore[arg-type]
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    digest = sha256_file(dest)
    verified.remember(dest, digest)
    entry = {"file": spec.file, "sha256": digest, "bytes": dest.stat().st_size, **inputs,
             "onnxruntime": ort.__version__, "onnx": onnx.__version__,
             "build_seconds": round(time.perf_counter() - started, 1)}
    manifest = read_manifest(model_dir)
    manifest[spec.id] = _as_json(entry)
    _write_manifest(model_dir, manifest)
    log.info("built %s from %s in %.1f s (sha256 %s)", spec.id, source.id, entry["build_seconds"], digest[:12])
    return entry
