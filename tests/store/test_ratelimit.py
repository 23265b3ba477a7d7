"""Fixed-window counters, in memory and in SQL, count exactly even when hit concurrently."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from bgremover.store.ratelimit import MemoryRateCounter, SqlRateCounter


@pytest.fixture(params=["memory", "sql"])
def counter(request, db):
    return MemoryRateCounter() if request.param == "memory" else SqlRateCounter(db)


def test_counts_per_bucket_and_window(counter):
    assert [counter.hit("k1", 60, 120.0) for _ in range(3)] == [1, 2, 3]
    assert counter.hit("k2", 60, 120.0) == 1
    assert counter.hit("k1", 60, 179.9) == 4
    assert counter.hit("k1", 60, 180.0) == 1, "a new window starts from one"


def test_concurrent_hits_are_all_counted(counter):
    with ThreadPoolExecutor(8) as pool:
        results = sorted(pool.map(lambda _: counter.hit("k", 60, 1000.0), range(40)))
    assert results == list(range(1, 41))


def test_peek_reads_the_count_without_adding_to_it(counter):
    assert counter.peek("p", 60, 120.0) == 0
    counter.hit("p", 60, 120.0)
    counter.hit("p", 60, 121.0)
    assert counter.peek("p", 60, 150.0) == 2 and counter.peek("p", 60, 150.0) == 2
    assert counter.peek("p", 60, 180.0) == 0, "the next window"
