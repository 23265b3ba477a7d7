"""Small builders for service tests: an account with credits, a queue that records what was enqueued."""
from __future__ import annotations

from bgremover.config import Settings, load_settings
from bgremover.service import credits
from bgremover.service.accounts import create_account
from bgremover.service.tasks import TaskRequest, submit_task
from bgremover.store.results import LocalResultStore


class RecordingQueue:
    """A TaskQueue that keeps the ids in a list: the tests here are about the database, not the queue."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def enqueue(self, task_id: str) -> None:
        self.ids.append(task_id)

    def ping(self) -> None:
        pass


def make_account(db, amount: int = 10, email: str | None = None) -> int:
    import secrets

    acc = create_account(db, email=email or f"u{secrets.token_hex(4)}@example.com")
    if amount:
        credits.grant(db, account_id=acc.id, amount=amount)
    return acc.id


def settings_for(tmp_path, **kw) -> Settings:
    return load_settings(data_dir=tmp_path / "data", **kw)


def submit(db, tmp_path, account_id: int, *, settings: Settings | None = None, queue=None, cost: int = 1, **req):
    settings = settings or settings_for(tmp_path)
    req.setdefault("model", "bg-remover-fast")
    req.setdefault("source_url", "http://127.0.0.1:9/x.jpg")
    return submit_task(db, LocalResultStore(tmp_path / "blobs"), queue or RecordingQueue(), settings,
                       account_id=account_id, request=TaskRequest(**req), credits_cost=cost)
