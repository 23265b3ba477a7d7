"""40 tasks at once through the worker's task run, over two real upstreams with a concurrency cap of 2 on the
first: the cap holds at the upstream itself, every task ends succeeded (none lost), each upstream is called
once per task it served, and the ledger has one reserve and one charge per task."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from service.helpers import make_account, settings_for, submit

from bgremover.service import credits
from bgremover.service.processing import run_task
from bgremover.service.tasks import get_task
from providers.fault_server import FaultServer
from providers.routing import rembg_table
from providers.task_run import COST, books, routed_context

TASKS = 40
SPARE_CREDITS = 7  # left over when every task was charged exactly once


@pytest.fixture
def servers(cutout: bytes) -> Iterator[tuple[FaultServer, FaultServer]]:
    first = FaultServer(cutout=cutout, delay_s=0.2).start()  # slow enough that the cap is reached
    second = FaultServer(cutout=cutout, delay_s=0.05).start()
    yield first, second
    first.stop()
    second.stop()


def test_40_concurrent_tasks_over_two_providers_keep_the_first_ones_cap_and_none_is_lost(
        db, tmp_path, servers: tuple[FaultServer, FaultServer], photo: bytes) -> None:
    first, second = servers
    ctx = routed_context(db, tmp_path, {"first": rembg_table(first.url, max_concurrency=2),
                                        "second": rembg_table(second.url, max_concurrency=TASKS)},
                         ["first", "second"])
    account = make_account(db, TASKS * COST + SPARE_CREDITS)
    roomy = settings_for(tmp_path, max_tasks_in_flight=TASKS)  # one account holds all 40 at once
    ids = [submit(db, tmp_path, account, settings=roomy, source_url=None, input_data=photo, cost=COST)[0].id
           for _ in range(TASKS)]
    errors: list[BaseException] = []

    def work(task_id: str) -> None:
        try:
            run_task(ctx, task_id)
        except BaseException as exc:  # noqa: BLE001 - counted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(task_id,)) for task_id in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and not any(t.is_alive() for t in threads)
    done = [get_task(db, task_id) for task_id in ids]
    assert [t.status for t in done] == ["succeeded"] * TASKS, "none lost"
    assert first.max_in_flight <= 2, "the cap held at the upstream itself"
    served = [t.provider for t in done]
    assert (served.count("first"), served.count("second")) == (first.requests, second.requests), "one call each"
    assert first.requests >= 2 and first.requests + second.requests == TASKS
    assert credits.balance(db, account_id=account).credits == SPARE_CREDITS
    assert all(books(db, account, task_id)[1] == {"reserve": 1, "charge": 1} for task_id in ids)
