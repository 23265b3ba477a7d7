"""sha256 of model files, remembered per (path, size, mtime) so a 176 MB model is hashed once, not per start.

The memory is in-process and, when the model directory is writable, in ``MODEL_DIR/.checksums.json`` so the
next process (a worker, the CLI) trusts a file that has not changed since it was verified. Any change to
the file's size or modification time makes it a stranger again. Whoever can write that sidecar can write
the models themselves, so it adds no trust that was not already there.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

SIDECAR = ".checksums.json"


def sha256_file(path: Path, chunk: int = 1 << 20, on_bytes: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
            if on_bytes is not None:
                on_bytes(len(block))
    return h.hexdigest()


def _key(path: Path) -> tuple[str, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return str(path.resolve()), st.st_size, st.st_mtime_ns


class VerifiedFiles:
    """sha256 digests of files, computed at most once per file version."""

    def __init__(self, model_dir: Path | None = None) -> None:
        self.sidecar = Path(model_dir) / SIDECAR if model_dir is not None else None
        self._known: dict[str, tuple[int, int, str]] = {}
        self._lock = threading.Lock()
        self._read_sidecar()

    def _load_sidecar(self) -> dict[str, tuple[int, int, str]]:
        if self.sidecar is None or not self.sidecar.is_file():
            return {}
        try:
            data = json.loads(self.sidecar.read_text())
            return {p: (int(size), int(mtime), str(digest)) for p, (size, mtime, digest) in data.items()}
        except (OSError, ValueError, TypeError):
            return {}  # an unreadable memory only costs a re-hash

    def _read_sidecar(self) -> None:
        self._known.update(self._load_sidecar())

    def _write_sidecar(self) -> None:
        if self.sidecar is None or not self.sidecar.parent.is_dir():
            return
        try:
            merged = {**self._load_sidecar(), **self._known}  # keep what other processes verified meanwhile
            fd, tmp = tempfile.mkstemp(dir=self.sidecar.parent, prefix=".checksums.", suffix=".tmp")
        except OSError:
            return  # read-only model dir: remember in-process only
        try:
            os.chmod(tmp, 0o644)
            with os.fdopen(fd, "w") as f:
                json.dump({p: list(v) for p, v in merged.items()}, f)
            os.replace(tmp, self.sidecar)
        except OSError:
            Path(tmp).unlink(missing_ok=True)

    def known_digest(self, path: Path) -> str | None:
        """The digest remembered for this exact file version, without reading the file."""
        key = _key(path)
        if key is None:
            return None
        with self._lock:
            got = self._known.get(key[0])
        return got[2] if got is not None and got[:2] == key[1:] else None

    def digest(self, path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
        known = self.known_digest(path)
        if known is not None:
            return known
        key = _key(path)
        digest = sha256_file(path, on_bytes=on_bytes)
        if key is not None and _key(path) == key:  # unchanged while we read it
            self.remember(path, digest, key)
        return digest

    def remember(self, path: Path, digest: str, key: tuple[str, int, int] | None = None) -> None:
        key = key or _key(path)
        if key is None:
            return
        with self._lock:
            self._known[key[0]] = (key[1], key[2], digest)
            self._write_sidecar()

    def matches(self, path: Path, sha256: str) -> bool:
        return path.is_file() and self.digest(path) == sha256.lower()
