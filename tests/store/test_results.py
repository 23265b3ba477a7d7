"""One contract for both result stores: files in the data dir and rows in the database."""
from __future__ import annotations

import errno
import os
import time

import pytest

from bgremover.errors import StorageFull
from bgremover.store.results import DatabaseResultStore, LocalResultStore
from store.disk_full import partials_on_dev_full, tiny_tmpfs


@pytest.fixture(params=["local", "database"])
def store(request, db, tmp_path):
    return LocalResultStore(tmp_path / "results") if request.param == "local" else DatabaseResultStore(db)


def test_put_get_delete(store):
    assert store.get("t1.png") is None and not store.exists("t1.png")
    store.put("t1.png", b"\x89PNG-bytes")
    assert store.get("t1.png") == b"\x89PNG-bytes" and store.exists("t1.png")
    store.put("t1.png", b"replaced")
    assert store.get("t1.png") == b"replaced"
    store.delete("t1.png")
    store.delete("t1.png")  # deleting twice is fine
    assert store.get("t1.png") is None


@pytest.mark.parametrize("key", ["../escape", "/abs", "a/b", "", ".hidden", "x" * 101])
def test_keys_cannot_escape(store, key):
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_local_store_leaves_no_partial_files(tmp_path):
    store = LocalResultStore(tmp_path / "r")
    store.put("a.webp", b"1" * 10_000)
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["a.webp"]


def test_sweep_deletes_only_partial_writes_past_the_grace_period(tmp_path):
    """A worker SIGKILLed inside ``put`` leaves its ``.tmp-*`` file; the sweep removes it once it is old enough."""
    store = LocalResultStore(tmp_path / "r")
    store.put("done.png", b"a whole result")
    old = tmp_path / "r" / ".tmp-killed-writer"
    old.write_bytes(b"half a res")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    fresh = tmp_path / "r" / ".tmp-writing-now"
    fresh.write_bytes(b"being writ")

    assert store.sweep_partial_writes() == 1
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [".tmp-writing-now", "done.png"]
    assert store.get("done.png") == b"a whole result"
    assert store.sweep_partial_writes() == 0


def test_sweep_is_a_no_op_on_the_database_store(db):
    store = DatabaseResultStore(db)
    store.put("done.png", b"a whole result")
    assert store.sweep_partial_writes() == 0
    assert store.get("done.png") == b"a whole result"


def test_a_full_disk_fails_the_put_and_loses_nothing(tmp_path, monkeypatch):
    """ENOSPC from the kernel (the write goes to /dev/full): put raises StorageFull (ENOSPC its cause), the earlier
    result under the key is intact, and the temporary file is gone, so a full disk never leaves half a result or a
    stray ``.tmp-*``."""
    store = LocalResultStore(tmp_path / "r")
    store.put("a.png", b"the earlier result")
    handed = partials_on_dev_full(monkeypatch, store)
    with pytest.raises(StorageFull) as caught:
        store.put("a.png", b"a new result" * 1000)
    assert isinstance(caught.value.__cause__, OSError) and caught.value.__cause__.errno == errno.ENOSPC
    assert handed, "the write did not go to /dev/full (the test proves nothing)"
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["a.png"]
    assert store.get("a.png") == b"the earlier result"


def test_a_full_tmpfs_fails_the_put_and_gives_the_space_back(tmp_path):
    """The same on a real 64 KiB file system: the failed write's blocks are freed, so a small put fits after."""
    with tiny_tmpfs(tmp_path / "r") as root:
        store = LocalResultStore(root)
        with pytest.raises(StorageFull) as caught:
            store.put("big.png", b"\xff" * 1_000_000)
        assert isinstance(caught.value.__cause__, OSError) and caught.value.__cause__.errno == errno.ENOSPC
        assert list(root.iterdir()) == []
        store.put("small.png", b"\xff" * 32_000)
        assert store.get("small.png") == b"\xff" * 32_000
