"""Rate-limit counters in Redis: one count for all API processes, kept under the deployment's prefix, expiring
after their window, and failing open (with a warning) when Redis cannot be reached."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from bgremover.config import load_settings
from bgremover.store.ratelimit import MemoryRateCounter, make_rate_counter
from bgremover.store.redis_counters import RedisRateCounter, redis_url_for
from scaleout.services import REDIS_URL, RedisNamespace, free_port, require_services

pytestmark = pytest.mark.scaleout


@pytest.fixture
def ns():
    require_services()
    space = RedisNamespace()
    yield space
    space.cleanup()


def test_two_counters_on_one_prefix_share_the_count(ns):
    api1, api2 = (RedisRateCounter.from_url(REDIS_URL, ns.prefix) for _ in range(2))  # two processes' clients
    assert [api1.hit("key:7", 60, 120.0), api2.hit("key:7", 60, 130.0), api1.hit("key:7", 60, 179.9)] == [1, 2, 3]
    assert api2.hit("key:8", 60, 120.0) == 1, "per bucket"
    assert api1.hit("key:7", 60, 180.0) == 1, "a new window starts from one"
    other = RedisRateCounter.from_url(REDIS_URL, ns.prefix + "x")
    assert other.hit("key:7", 60, 120.0) == 1, "another deployment's prefix counts apart"
    other.client.delete(other.key("key:7", 120))
    assert api2.peek("key:7", 60, 150.0) == 3 and api2.peek("key:7", 60, 150.0) == 3, "peek adds nothing"
    assert api2.peek("key:9", 60, 150.0) == 0


def test_concurrent_hits_are_all_counted_and_keys_expire(ns):
    counter = RedisRateCounter.from_url(REDIS_URL, ns.prefix)
    with ThreadPoolExecutor(8) as pool:
        results = sorted(pool.map(lambda _: counter.hit("k", 60, 1000.0), range(40)))
    assert results == list(range(1, 41))
    ttl = counter.client.ttl(counter.key("k", 960))
    assert 0 < ttl <= 65, "a window's key outlives its window only briefly"


def test_unreachable_redis_fails_open_with_a_warning(caplog):
    counter = RedisRateCounter.from_url(f"redis://127.0.0.1:{free_port()}/0", "nobody")  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="bgremover.store.redis_counters"):
        assert [counter.hit("k", 60, 1.0) for _ in range(3)] == [1, 1, 1]
    assert len([r for r in caplog.records if "not rate limited" in r.getMessage()]) == 1, "warned once, not per hit"
    with pytest.raises(redis.RedisError):
        counter.ping()


def test_redis_is_chosen_whenever_the_deployment_has_one(tmp_path):
    base = {"data_dir": tmp_path}
    assert redis_url_for(load_settings(**base)) is None
    assert redis_url_for(load_settings(**base, queue_url="redis://q:6379/1")) == "redis://q:6379/1"
    assert redis_url_for(load_settings(**base, queue_url="redis://q/1", redis_url="redis://r/2")) == "redis://r/2"
    assert isinstance(make_rate_counter(_sqlite(tmp_path), load_settings(**base)), MemoryRateCounter)
    counter = make_rate_counter(_sqlite(tmp_path), load_settings(**base, queue_url="redis://127.0.0.1:9/0",
                                                                 redis_key_prefix="p1"))
    assert isinstance(counter, RedisRateCounter) and counter.prefix == "p1"


def _sqlite(tmp_path):
    from bgremover.store.database import Database

    return Database.from_url(f"sqlite:///{tmp_path / 'x.db'}")
