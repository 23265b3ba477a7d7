"""One contract for both result stores: files in the data dir and rows in the database."""
from __future__ import annotations

import pytest

from bgremover.store.results import DatabaseResultStore, LocalResultStore


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
