"""Real full disks for tests: no mocked OSError anywhere, the kernel says ENOSPC.

* :func:`partials_on_dev_full` works everywhere on Linux: the local store's next temporary files are created
  as ``.tmp-*`` symlinks to ``/dev/full``, where every write fails with ENOSPC. The store has to remove them.
* :func:`tiny_tmpfs` is the most honest full disk, a small mount of its own; it needs CAP_SYS_ADMIN, and
  skips (with the reason) where mounting is not permitted.
* :func:`fill_database` fills a database that lives on such a disk through the database result store, until
  the database itself says it is full.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sqlalchemy.exc import DBAPIError

from bgremover.errors import StorageFull
from bgremover.store.results import DatabaseResultStore, LocalResultStore

DEV_FULL = Path("/dev/full")


def partials_on_dev_full(monkeypatch: pytest.MonkeyPatch, store: LocalResultStore) -> list[Path]:
    """From now on, ``store.put`` writes into ``/dev/full``; returns the temporary paths it was handed."""
    if not DEV_FULL.is_char_device():
        pytest.skip("/dev/full is not available (not Linux?)")
    handed: list[Path] = []

    def new_partial() -> tuple[int, str]:
        link = store.root / f".tmp-dev-full-{len(handed)}"
        link.symlink_to(DEV_FULL)
        handed.append(link)
        return os.open(link, os.O_WRONLY), str(link)

    monkeypatch.setattr(store, "_new_partial", new_partial)
    return handed


@contextmanager
def tiny_tmpfs(path: Path, size: str = "64k") -> Iterator[Path]:
    """``path`` as a tmpfs of ``size``; skips when this process may not mount, and always unmounts."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) on this machine: cannot make a small tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here (needs CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path, leave: int = 0) -> Path:
    """Take all but ``leave`` bytes of the file system under ``directory`` with one file; returns it."""
    filler = directory / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, shutil.disk_usage(directory).free - leave))
    return filler


def fill_database(store: DatabaseResultStore, sizes: tuple[int, ...]) -> tuple[list[str], DBAPIError]:
    """Put random (incompressible) blobs of each size in turn, largest first, until one does not fit; returns
    the keys stored and the error of the last put that did not fit."""
    stored: list[str] = []
    last: DBAPIError | None = None
    for size in sizes:
        for n in range(10_000):
            try:
                store.put(f"filler-{size}-{n}", os.urandom(size))
            except StorageFull as exc:  # the store's edge maps a full database; the database's error is the cause
                assert isinstance(exc.__cause__, DBAPIError), exc.__cause__
                last = exc.__cause__
                break
            stored.append(f"filler-{size}-{n}")
        else:
            raise AssertionError(f"10000 blobs of {size} bytes fitted: the disk is not small (the test proves nothing)")
    assert last is not None
    return stored, last
