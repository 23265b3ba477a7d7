"""A worker's task run on routed models, against real upstreams: the context, the books, the task's record."""
from __future__ import annotations

import json
from collections import Counter
from typing import Any

from service.helpers import RecordingQueue, make_account, settings_for, submit
from sqlalchemy import select

from bgremover.providers import Router, parse_providers
from bgremover.service import credits
from bgremover.service.cutouts import LocalPipeline, RoutedPipeline
from bgremover.service.processing import WorkerContext
from bgremover.store.results import LocalResultStore
from bgremover.store.tables import ledger_entries, tasks
from providers.routing import ALLOW, FAST

COST = 2  # our price for a task, in credits
CREDITS = 10  # what each account of ``submitted`` starts with


def routed_context(db: Any, tmp_path: Any, tables: dict[str, dict[str, Any]], route: list[str], *,
                   remover: Any = None, environ: dict[str, str] | None = None, **settings_kw: Any) -> WorkerContext:
    """What ``jobs/tasks.py`` builds in a worker with a providers file, with these tables and one route
    (``settings_kw``: e.g. the breaker's ``provider_breaker_failures`` and ``provider_breaker_cooldown_s``)."""
    settings = settings_for(tmp_path, fetch_allow_networks=",".join(ALLOW), **settings_kw)
    config = parse_providers({"providers": tables, "routes": {FAST: route}}, fetch_allowlist=ALLOW,
                             environ=environ or {})
    local = LocalPipeline(settings, remover)
    router = Router.from_settings(config, settings, local_run=local.produce)
    return WorkerContext(settings, db, LocalResultStore(tmp_path / "blobs"), RecordingQueue(),
                         RoutedPipeline(router, local))


def books(db: Any, account_id: int, task_id: str) -> tuple[int, dict[str, int]]:
    """The account's available credits and how many ledger entries of each kind the task has."""
    with db.read() as conn:
        reasons = conn.execute(select(ledger_entries.c.reason).where(ledger_entries.c.task_id == task_id)).scalars()
        kinds = dict(Counter(reasons))
    return credits.balance(db, account_id=account_id).credits, kinds


def provider_columns(db: Any, task_id: str) -> dict[str, Any]:
    with db.read() as conn:
        row = conn.execute(select(tasks.c.provider, tasks.c.attempts_json, tasks.c.upstream_latency_s,
                                  tasks.c.upstream_cost).where(tasks.c.id == task_id)).one()
    return dict(row._mapping)


def submitted(db: Any, tmp_path: Any, image: bytes, **options: Any) -> tuple[int, str]:
    """A new account with ``CREDITS`` and its task for ``image`` (an upload), queued at ``COST``."""
    account = make_account(db, CREDITS)
    task, _ = submit(db, tmp_path, account, source_url=None, input_data=image, cost=COST, options=options)
    return account, task.id


def attempts(db: Any, task_id: str) -> list[tuple[str, str, str | None]]:
    """The task's recorded attempts as (provider, outcome, reason), in order."""
    recorded = json.loads(provider_columns(db, task_id)["attempts_json"])
    return [(a["provider"], a["outcome"], a["reason"]) for a in recorded]
