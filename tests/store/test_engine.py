"""Database URLs: the plain PostgreSQL spellings mean psycopg 3, the driver bgremover depends on."""
from __future__ import annotations

import pytest

from bgremover.store.engine import make_engine, normalize_url


@pytest.mark.parametrize(("given", "used"), [
    ("postgresql://u@db:5432/bgr", "postgresql+psycopg://u@db:5432/bgr"),
    ("postgres://u@db/bgr?options=-csearch_path%3Dx", "postgresql+psycopg://u@db/bgr?options=-csearch_path%3Dx"),
    ("postgresql+psycopg://u@db/bgr", "postgresql+psycopg://u@db/bgr"),
    ("sqlite:////var/lib/bgremover/bgremover.db", "sqlite:////var/lib/bgremover/bgremover.db"),
])
def test_normalize_url(given, used):
    assert normalize_url(given) == used


def test_a_plain_postgresql_url_builds_a_psycopg_engine():
    engine = make_engine("postgresql://u@127.0.0.1:9/bgr")  # no connection is made until used
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    engine.dispose()
