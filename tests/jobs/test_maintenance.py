"""The worker's periodic maintenance forgets expired idempotency keys (no model needed)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bgremover.config import load_settings
from bgremover.jobs.queue import make_huey
from bgremover.jobs.tasks import register_jobs
from bgremover.service.tasks import TaskRequest, submit_task
from bgremover.store.migrate import upgrade
from bgremover.store.tables import idempotency_keys, utcnow
from service.helpers import make_account


def test_maintenance_forgets_idempotency_keys_past_their_ttl(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", idempotency_ttl_s=3600)
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.effective_database_url)
    jobs = register_jobs(make_huey(settings), settings)
    ctx = jobs.context()
    try:
        acc = make_account(ctx.db, 5)
        for key in ("expired", "live"):
            submit_task(ctx.db, ctx.blobs, jobs.queue, settings, account_id=acc, credits_cost=1,
                        request=TaskRequest(model="bg-remover-fast", source_url=f"http://127.0.0.1:9/{key}.jpg"),
                        idempotency_key=key)
        with ctx.db.write() as conn:
            conn.execute(update(idempotency_keys).where(idempotency_keys.c.key == "expired")
                         .values(created_at=utcnow() - timedelta(hours=2)))
        jobs.maintenance()
        with ctx.db.read() as conn:
            assert set(conn.execute(select(idempotency_keys.c.key)).scalars()) == {"live"}
    finally:
        ctx.db.dispose()
