"""Fixtures for the scale-out tests: a PostgreSQL schema and a Redis prefix per test, and fleets built on them."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bgremover.config import load_settings
from bgremover.pipeline.remover import Remover
from conftest import require
from scaleout.cluster import Cluster
from scaleout.services import PgSchema, RedisNamespace, require_services
from web.images import ImageServer, photo_bytes


@pytest.fixture(scope="session")
def services_up() -> None:
    require_services()
    registry = Remover(load_settings()).registry
    require(registry.is_available("u2netp"), "u2netp is not fetched (run: bgremover models fetch u2netp)")


@pytest.fixture
def schema(services_up: None) -> Iterator[PgSchema]:
    s = PgSchema()
    yield s
    s.drop()


@pytest.fixture
def redis_ns(services_up: None) -> Iterator[RedisNamespace]:
    ns = RedisNamespace()
    yield ns
    ns.cleanup()


@pytest.fixture
def make_cluster(tmp_path: Path, schema: PgSchema, redis_ns: RedisNamespace) -> Iterator[Callable[..., Cluster]]:
    """``make_cluster(**settings)``: a migrated, empty fleet; add processes with add_api() / add_worker()."""
    made: list[Cluster] = []

    def make(redis: RedisNamespace | None = None, **settings: str) -> Cluster:
        cluster = Cluster(tmp_path / f"fleet{len(made)}", schema, redis or redis_ns, settings)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


@pytest.fixture(scope="module")
def images() -> Iterator[ImageServer]:
    with ImageServer() as srv:
        srv.files["photo.jpg"] = photo_bytes((96, 64))
        yield srv
