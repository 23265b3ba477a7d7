"""Each fault of a first provider, through the whole task run (``run_task``) on the route [up, spare]: a real
fault server first, a second real upstream (or a closed port) after it. Whatever the fault, the task ends final,
its record says what each provider did, and the books are right: charged exactly once when a provider served
it, refunded when none could, and a second delivery of the queue message changes nothing."""
from __future__ import annotations

import pytest
from web.service_process import free_port

from bgremover.service.processing import run_task
from bgremover.service.provider_stats import ProviderMargin, provider_margins
from bgremover.service.tasks import get_task
from providers.fault_server import UPSTREAM_SECRET_TEXT, FaultServer
from providers.routing import rembg_table
from providers.task_run import COST, CREDITS, attempts, books, provider_columns, routed_context, submitted

UP_COST, SPARE_COST = 1.5, 0.25  # what each upstream charges us per image: apart, so the sums say who billed
CHARGED = (CREDITS - COST, {"reserve": 1, "charge": 1})
REFUNDED = (CREDITS, {"reserve": 1, "refund": 1})


def tables(fault: FaultServer, second_url: str, **up: object) -> dict[str, dict[str, object]]:
    return {"up": rembg_table(fault.url, cost_per_image=UP_COST, **up),
            "spare": rembg_table(second_url, cost_per_image=SPARE_COST)}


def assert_no_upstream_text(db, task_id: str) -> None:
    task = get_task(db, task_id)
    secret = UPSTREAM_SECRET_TEXT.decode()
    assert secret not in (task.error_message or "") + provider_columns(db, task_id)["attempts_json"]


FAULTS = [  # mode, the provider's table, the attempt's reason, whether the upstream billed us for its answer
    pytest.param("hang", {"timeout_s": 1}, "timeout", False, id="hang-past-timeout"),
    pytest.param("429", {}, "rate_limited", False, id="429-retry-after-past-deadline"),
    pytest.param("402", {}, "out_of_credits", False, id="402"),
    pytest.param("truncated", {}, "connection_lost", False, id="truncated"),
    pytest.param("nonimage", {}, "bad_result", True, id="nonimage"),  # a 200: billed, rejected, not the client's
    pytest.param("wrongsize", {}, "bad_result", True, id="wrongsize"),
    pytest.param("noalpha", {}, "bad_result", True, id="noalpha"),
]


@pytest.mark.parametrize("mode, up, reason, billed", FAULTS)
def test_a_faulty_first_provider_fails_over_and_the_task_is_charged_once(
        db, tmp_path, fault: FaultServer, spare: FaultServer, photo: bytes, mode: str, up: dict, reason: str,
        billed: bool) -> None:
    fault.mode, fault.retry_after = mode, "3600"  # (429) a Retry-After past the task's deadline: no retry
    ctx = routed_context(db, tmp_path, tables(fault, spare.url, **up), ["up", "spare"])
    account, task_id = submitted(db, tmp_path, photo)
    run_task(ctx, task_id)
    run_task(ctx, task_id)  # the queue delivers the message again: nothing more happens
    task = get_task(db, task_id)
    assert (task.status, task.provider, task.credits_charged, task.error_code) == ("succeeded", "spare", COST, None)
    assert attempts(db, task_id) == [("up", "failed", reason), ("spare", "succeeded", None)]
    assert provider_columns(db, task_id)["upstream_cost"] == (UP_COST if billed else 0) + SPARE_COST
    assert books(db, account, task_id) == CHARGED
    assert (fault.requests, spare.requests) == (1, 1)
    assert_no_upstream_text(db, task_id)


@pytest.mark.parametrize("mode, up, reason, billed", FAULTS)
def test_a_faulty_first_provider_with_the_second_down_fails_the_task_and_refunds_it(
        db, tmp_path, fault: FaultServer, photo: bytes, mode: str, up: dict, reason: str, billed: bool) -> None:
    fault.mode, fault.retry_after = mode, "3600"
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    ctx = routed_context(db, tmp_path, tables(fault, closed, **up), ["up", "spare"])
    account, task_id = submitted(db, tmp_path, photo)
    run_task(ctx, task_id)
    run_task(ctx, task_id)
    task = get_task(db, task_id)
    assert (task.status, task.provider, task.credits_charged, task.error_code) == (
        "failed", None, 0, "upstream_unavailable")
    assert "nothing was charged" in (task.error_message or "")
    assert attempts(db, task_id) == [("up", "failed", reason), ("spare", "failed", "connect")]
    assert provider_columns(db, task_id)["upstream_cost"] == (UP_COST if billed else 0)  # ours to bear, not theirs
    assert books(db, account, task_id) == REFUNDED
    assert fault.requests == 1
    assert_no_upstream_text(db, task_id)


def test_a_429_is_asked_again_after_its_retry_after_and_that_answer_is_charged_once(
        db, tmp_path, fault: FaultServer, photo: bytes) -> None:
    fault.mode, fault.retry_after, fault.recover_after = "429", "1", 1  # busy once, then serves
    closed = f"http://127.0.0.1:{free_port()}"
    ctx = routed_context(db, tmp_path, tables(fault, closed), ["up", "spare"])
    account, task_id = submitted(db, tmp_path, photo)
    run_task(ctx, task_id)
    task = get_task(db, task_id)
    assert (task.status, task.provider, task.credits_charged) == ("succeeded", "up", COST)
    assert attempts(db, task_id) == [("up", "failed", "rate_limited"), ("spare", "failed", "connect"),
                                     ("up", "succeeded", None)]
    assert provider_columns(db, task_id)["upstream_cost"] == UP_COST, "billed for the answer it gave, once"
    assert books(db, account, task_id) == CHARGED
    assert fault.requests == 2


def test_a_429_that_persists_is_asked_once_more_then_the_task_fails_refunded(
        db, tmp_path, fault: FaultServer, photo: bytes) -> None:
    fault.mode, fault.retry_after = "429", "1"
    closed = f"http://127.0.0.1:{free_port()}"
    ctx = routed_context(db, tmp_path, tables(fault, closed), ["up", "spare"])
    account, task_id = submitted(db, tmp_path, photo)
    run_task(ctx, task_id)
    task = get_task(db, task_id)
    assert (task.status, task.error_code, task.credits_charged) == ("failed", "upstream_unavailable", 0)
    assert attempts(db, task_id) == [("up", "failed", "rate_limited"), ("spare", "failed", "connect"),
                                     ("up", "failed", "rate_limited")]
    assert books(db, account, task_id) == REFUNDED
    assert fault.requests == 2


def test_a_provider_held_by_its_retry_after_is_skipped_by_the_next_tasks_without_a_call(
        db, tmp_path, fault: FaultServer, spare: FaultServer, photo: bytes) -> None:
    fault.mode, fault.retry_after = "429", "3600"
    ctx = routed_context(db, tmp_path, tables(fault, spare.url), ["up", "spare"])
    first, second = submitted(db, tmp_path, photo), submitted(db, tmp_path, photo)
    for _account, task_id in (first, second):
        run_task(ctx, task_id)
    assert attempts(db, first[1]) == [("up", "failed", "rate_limited"), ("spare", "succeeded", None)]
    assert attempts(db, second[1]) == [("up", "skipped", "rate_limited"), ("spare", "succeeded", None)]
    assert fault.requests == 1, "nothing sent to it during its Retry-After"
    for account, task_id in (first, second):
        assert books(db, account, task_id) == CHARGED


def test_the_margin_puts_each_upstream_cost_on_the_provider_that_billed_it(
        db, tmp_path, fault: FaultServer, spare: FaultServer, photo: bytes) -> None:
    fault.mode, fault.recover_after = "nonimage", 1  # its first 200 fails our checks (still billed), then it serves
    ctx = routed_context(db, tmp_path, tables(fault, spare.url), ["up", "spare"])
    first, second = submitted(db, tmp_path, photo), submitted(db, tmp_path, photo)
    for _account, task_id in (first, second):
        run_task(ctx, task_id)
    assert [get_task(db, t).provider for _a, t in (first, second)] == ["spare", "up"]
    assert provider_margins(db) == [ProviderMargin("spare", 1, COST, SPARE_COST),
                                    ProviderMargin("up", 1, COST, 2 * UP_COST)]
