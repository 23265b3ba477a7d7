"""Queue selection: Huey on SQLite in the data dir by default, Redis when BGREMOVER_QUEUE_URL says so."""
from __future__ import annotations

import pytest

from bgremover.config import load_settings
from bgremover.jobs.queue import make_huey
from bgremover.jobs.worker import maintenance_interval


def test_default_is_sqlite_in_the_data_dir(tmp_path):
    huey = make_huey(load_settings(data_dir=tmp_path))
    assert type(huey).__name__ == "SqliteHuey"
    huey.pending_count()
    assert (tmp_path / "queue.db").is_file()


def test_redis_url_selects_redis(tmp_path):
    huey = make_huey(load_settings(data_dir=tmp_path, queue_url="redis://127.0.0.1:6379/15"))
    assert type(huey).__name__ == "RedisHuey"


def test_unknown_scheme_is_refused(tmp_path):
    with pytest.raises(ValueError, match="redis"):
        make_huey(load_settings(data_dir=tmp_path, queue_url="amqp://broker"))


def test_maintenance_runs_well_within_a_lease():
    assert maintenance_interval(load_settings(task_lease_s=3)) == 1
    assert maintenance_interval(load_settings(task_lease_s=120)) == 30
