"""Per-process cache of loaded segmenters: each model is loaded (and checksummed) once."""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from bgremover.errors import LicenseNotAccepted, ModelCorrupt, ModelNotAvailable
from bgremover.inference.catalog import Catalog, ModelSpec
from bgremover.inference.session import OnnxSegmenter


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class SegmenterRegistry:
    def __init__(self, catalog: Catalog, model_dir: Path, *, threads: int = 0,
                 accept_licenses: list[str] | tuple[str, ...] = (), verify: bool = True) -> None:
        self.catalog = catalog
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.accept_licenses = {x.lower() for x in accept_licenses}
        self.verify = verify
        self._loaded: dict[str, OnnxSegmenter] = {}
        self._lock = threading.Lock()

    def is_available(self, model_id: str) -> bool:
        spec = self.catalog.model(model_id)
        return spec.file_path(self.model_dir).is_file() and self.licence_ok(spec)

    def licence_ok(self, spec: ModelSpec) -> bool:
        return spec.licence_key is None or spec.licence_key.lower() in self.accept_licenses

    def get(self, model_id: str) -> OnnxSegmenter:
        with self._lock:
            seg = self._loaded.get(model_id)
            if seg is None:
                seg = self._load(self.catalog.model(model_id))
                self._loaded[model_id] = seg
            return seg

    def _load(self, spec: ModelSpec) -> OnnxSegmenter:
        if not self.licence_ok(spec):
            raise LicenseNotAccepted(
                f"model {spec.id} has {spec.licence} weights; set BGREMOVER_ACCEPT_LICENSES={spec.licence_key} "
                f"to use it")
        path = spec.file_path(self.model_dir)
        if not path.is_file():
            raise ModelNotAvailable(
                f"model {spec.id} is not fetched ({path} missing); run: bgremover models fetch {spec.id}")
        if self.verify:
            digest = sha256_file(path)
            if digest != spec.sha256:
                raise ModelCorrupt(
                    f"model file {path} fails its checksum (sha256 {digest[:12]}…, expected {spec.sha256[:12]}…); "
                    f"delete it and run: bgremover models fetch {spec.id}")
        return OnnxSegmenter(spec, path, threads=self.threads)
