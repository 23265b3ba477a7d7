"""Result (and uploaded input) blobs: files in the data dir, or rows in the database for scale-out."""
from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete, insert, select

from bgremover.config import Settings
from bgremover.store.base import ResultStore
from bgremover.store.database import Database
from bgremover.store.space import disk_full_as_storage_full
from bgremover.store.tables import result_blobs, utcnow

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_TMP_PREFIX = ".tmp-"  # keys cannot start with ".", so no result is ever named like a partial write
# A put takes well under a second; a temporary file this old belongs to a writer that was killed mid-write.
PARTIAL_WRITE_GRACE_S = 600.0


def _check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"invalid blob key {key!r}")
    return key


class LocalResultStore:
    """One file per key under ``root``; written to a temporary file, then renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def _new_partial(self) -> tuple[int, str]:
        """A fresh ``.tmp-*`` file beside the results: on the same file system, so the rename into place is atomic."""
        return tempfile.mkstemp(dir=self.root, prefix=_TMP_PREFIX)

    def put(self, key: str, data: bytes) -> None:
        """All the bytes under ``key``, or an error (a full disk: StorageFull), the old value intact and no
        ``.tmp-*`` left."""
        with disk_full_as_storage_full():
            self._put(key, data)

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        fd, tmp = self._new_partial()
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def sweep_partial_writes(self, older_than_s: float = PARTIAL_WRITE_GRACE_S) -> int:
        """Delete temporary files that a SIGKILLed writer left behind; ``put`` cleans up after any other failure."""
        cutoff, removed = time.time() - older_than_s, 0
        for tmp in self.root.glob(f"{_TMP_PREFIX}*"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
            except FileNotFoundError:  # renamed into place, or swept by another worker, since the listing
                continue
        return removed


class DatabaseResultStore:
    """Blobs in the ``result_blobs`` table, so API and workers on different hosts need no shared file system."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, key: str, data: bytes) -> None:
        with self.db.write() as conn:
            conn.execute(delete(result_blobs).where(result_blobs.c.key == _check_key(key)))
            conn.execute(insert(result_blobs).values(key=key, data=data, created_at=utcnow()))

    def get(self, key: str) -> bytes | None:
        with self.db.read() as conn:
            return conn.execute(select(result_blobs.c.data).where(result_blobs.c.key == _check_key(key))).scalar()

    def delete(self, key: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(result_blobs).where(result_blobs.c.key == _check_key(key)))

    def exists(self, key: str) -> bool:
        with self.db.read() as conn:
            return conn.execute(select(result_blobs.c.key).where(result_blobs.c.key == _check_key(key))).first() \
                is not None

    def sweep_partial_writes(self, older_than_s: float = PARTIAL_WRITE_GRACE_S) -> int:
        """Nothing to sweep: a ``put`` is one transaction, and a killed writer's transaction rolls back."""
        return 0


def make_result_store(settings: Settings, db: Database) -> ResultStore:
    """``local`` (default with SQLite) or ``database`` (default with any other database)."""
    kind = settings.result_store or ("local" if db.dialect == "sqlite" else "database")
    if kind == "local":
        return LocalResultStore(settings.data_dir / "results")
    if kind == "database":
        return DatabaseResultStore(db)
    raise ValueError(f"BGREMOVER_RESULT_STORE must be 'local' or 'database', not {kind!r}")
