"""Which tasks have finished: the one question an API process asks for every request it holds open."""
from __future__ import annotations

from sqlalchemy import select

from bgremover.service.outcomes import FINAL
from bgremover.store.database import Database
from bgremover.store.tables import tasks

CHUNK = 500  # ids per query: well under every database's limit on bound parameters


def finished_among(db: Database, task_ids: list[str]) -> set[str]:
    """The ids among ``task_ids`` whose task is final (succeeded, failed or canceled); unknown ids are not."""
    done: set[str] = set()
    with db.read() as conn:
        for start in range(0, len(task_ids), CHUNK):
            chunk = task_ids[start:start + CHUNK]
            done.update(conn.execute(select(tasks.c.id).where(tasks.c.id.in_(chunk), tasks.c.status.in_(FINAL)))
                        .scalars())
    return done
