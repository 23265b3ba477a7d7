"""The task run on a routed model, with real upstreams on loopback (a second ``bgremover serve``, fault servers)
and our real u2netp pipeline as ``local``: whatever the providers do, the task ends final, records who served
it and every attempt, and the client is charged exactly once (success) or refunded (failure)."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image
from service.helpers import make_account, submit
from web.service_process import free_port

from bgremover.service.processing import run_task
from bgremover.service.provider_stats import (
    ProviderMargin,
    provider_activity,
    provider_margins,
)
from bgremover.service.tasks import get_task
from providers.conftest import PHOTO_SIZE, Upstream
from providers.fault_server import UPSTREAM_SECRET_TEXT, FaultServer
from providers.routing import rembg_table
from providers.task_run import COST, attempts, books, provider_columns, routed_context, submitted
from providers.test_bgremover_upstream import balance as upstream_balance

def test_a_task_served_by_another_bgremover_records_it_and_is_charged_once(
        db, tmp_path, bgremover_upstream: Upstream, photo: bytes) -> None:
    ctx = routed_context(db, tmp_path, {"gpu": bgremover_upstream.table}, ["gpu", "local"],
                         environ=bgremover_upstream.env)
    account, task_id = submitted(db, tmp_path, photo)
    paid_upstream = upstream_balance(bgremover_upstream)
    run_task(ctx, task_id)
    run_task(ctx, task_id)  # a duplicate queue message does nothing
    task = get_task(db, task_id)
    assert (task.status, task.provider, task.credits_charged) == ("succeeded", "gpu", COST)
    assert Image.open(io.BytesIO(ctx.blobs.get(task.result_key))).size == PHOTO_SIZE
    columns = provider_columns(db, task_id)
    [attempt] = json.loads(columns["attempts_json"])
    assert set(attempt) == {"provider", "outcome", "reason", "latency_s", "cost"}
    assert (attempt["provider"], attempt["outcome"], attempt["reason"], attempt["cost"]) == ("gpu", "succeeded",
                                                                                            None, 0.5)
    assert columns["upstream_cost"] == 0.5 and 0 < columns["upstream_latency_s"] == attempt["latency_s"]
    assert books(db, account, task_id) == (10 - COST, {"reserve": 1, "charge": 1})
    assert upstream_balance(bgremover_upstream) == paid_upstream - 1, "the upstream charged us once too"


def test_a_first_provider_answering_500_fails_over_to_the_second_and_the_client_pays_once(
        db, tmp_path, fault: FaultServer, bgremover_upstream: Upstream, photo: bytes) -> None:
    fault.mode = "500"
    ctx = routed_context(db, tmp_path, {"up": rembg_table(fault.url), "gpu": bgremover_upstream.table},
                         ["up", "gpu"], environ=bgremover_upstream.env)
    account, task_id = submitted(db, tmp_path, photo)
    run_task(ctx, task_id)
    task = get_task(db, task_id)
    assert (task.status, task.provider, task.credits_charged) == ("succeeded", "gpu", COST)
    assert attempts(db, task_id) == [("up", "failed", "server_error"), ("gpu", "succeeded", None)]
    assert books(db, account, task_id) == (10 - COST, {"reserve": 1, "charge": 1})
    assert fault.requests == 1


def test_a_first_provider_killed_mid_request_fails_over_to_local_and_the_client_pays_once(
        db, tmp_path, remover, photo: bytes) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fault_server.py")), "--port", str(port),
                             "--mode", "hang"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        ctx = routed_context(db, tmp_path, {"up": rembg_table(f"http://127.0.0.1:{port}", timeout_s=60)},
                             ["up", "local"], remover=remover)
        account, task_id = submitted(db, tmp_path, photo)
        worker = threading.Thread(target=run_task, args=(ctx, task_id))
        worker.start()
        assert proc.stdout.readline().strip() == "request"  # the upstream has the task's image ...
        os.kill(proc.pid, signal.SIGKILL)  # ... and dies before answering
        worker.join(120)
    finally:
        proc.kill()
        proc.wait()
    task = get_task(db, task_id)
    assert (task.status, task.provider, task.credits_charged) == ("succeeded", "local", COST)
    assert attempts(db, task_id) == [("up", "failed", "connection_lost"), ("local", "succeeded", None)]
    assert provider_columns(db, task_id)["upstream_cost"] == 0.0
    assert books(db, account, task_id) == (10 - COST, {"reserve": 1, "charge": 1})


def test_every_provider_down_fails_the_task_with_upstream_unavailable_and_refunds_it(
        db, tmp_path, fault: FaultServer, photo: bytes, caplog: pytest.LogCaptureFixture) -> None:
    fault.mode = "500"
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    ctx = routed_context(db, tmp_path, {"up": rembg_table(fault.url), "down": rembg_table(closed)}, ["up", "down"])
    account, task_id = submitted(db, tmp_path, photo)
    run_task(ctx, task_id)
    run_task(ctx, task_id)
    task = get_task(db, task_id)
    assert (task.status, task.error_code, task.provider, task.credits_charged) == (
        "failed", "upstream_unavailable", None, 0)
    assert "nothing was charged" in (task.error_message or "")
    assert attempts(db, task_id) == [("up", "failed", "server_error"), ("down", "failed", "connect")]
    assert books(db, account, task_id) == (10, {"reserve": 1, "refund": 1})
    secret = UPSTREAM_SECRET_TEXT.decode()
    assert secret not in (task.error_message or "") + caplog.text + provider_columns(db, task_id)["attempts_json"]


def test_a_corrupt_image_fails_once_refunded_and_no_provider_is_called(
        db, tmp_path, fault: FaultServer, photo: bytes) -> None:
    ctx = routed_context(db, tmp_path, {"up": rembg_table(fault.url)}, ["up", "local"])
    account, task_id = submitted(db, tmp_path, photo[: len(photo) // 3])  # a truncated JPEG
    run_task(ctx, task_id)
    task = get_task(db, task_id)
    assert (task.status, task.error_code, task.credits_charged) == ("failed", "corrupt_image", 0)
    assert fault.requests == 0, "the client's own bad image is never sent upstream (nor paid for)"
    assert attempts(db, task_id) == [] and provider_columns(db, task_id)["provider"] is None
    assert books(db, account, task_id) == (10, {"reserve": 1, "refund": 1})


def test_a_pinned_task_runs_on_its_provider_alone(db, tmp_path, fault: FaultServer, remover, photo: bytes) -> None:
    ctx = routed_context(db, tmp_path, {"up": rembg_table(fault.url)}, ["up", "local"], remover=remover)
    account, task_id = submitted(db, tmp_path, photo, provider="local")
    run_task(ctx, task_id)
    task = get_task(db, task_id)
    assert (task.status, task.provider) == ("succeeded", "local") and fault.requests == 0
    assert books(db, account, task_id) == (10 - COST, {"reserve": 1, "charge": 1})


def test_a_rejected_answer_is_the_failing_providers_cost_in_the_margin_not_the_clients(
        db, tmp_path, fault: FaultServer, remover, photo: bytes) -> None:
    fault.mode = "nonimage"  # a 200 that fails our checks: the upstream billed us, the client pays nothing for it
    ctx = routed_context(db, tmp_path, {"up": rembg_table(fault.url, cost_per_image=1.5)}, ["up", "local"],
                         remover=remover)
    account, task_id = submitted(db, tmp_path, photo)
    run_task(ctx, task_id)
    assert get_task(db, task_id).provider == "local"
    assert books(db, account, task_id) == (10 - COST, {"reserve": 1, "charge": 1})
    assert provider_margins(db) == [ProviderMargin("local", 1, COST, 0.0), ProviderMargin("up", 0, 0, 1.5)]
    assert provider_margins(db)[1].margin == -1.5
    activity = provider_activity(db)
    assert (dict(activity["up"].failures), dict(activity["local"].attempts)) == ({"bad_result": 1}, {"succeeded": 1})


@pytest.mark.parametrize("output_format, options", [
    ("auto", {}),  # remove.bg's default format: PNG or JPEG by the result, which only our pipeline decides
    ("png", {"roi": "0 0 50% 100%", "semitransparency": False}),
    ("png", {"max_megapixels": 0.1}),
])
def test_options_only_our_pipeline_applies_run_on_local_and_are_honoured(
        db, tmp_path, fault: FaultServer, remover, photo: bytes, output_format: str, options: dict) -> None:
    ctx = routed_context(db, tmp_path, {"up": rembg_table(fault.url)}, ["up", "local"], remover=remover)
    account = make_account(db, 10)
    task, _ = submit(db, tmp_path, account, source_url=None, input_data=photo, cost=COST,
                     output_format=output_format, options=options)
    run_task(ctx, task.id)
    done = get_task(db, task.id)
    assert (done.status, done.provider, done.error_code) == ("succeeded", "local", None)
    assert fault.requests == 0, "a remote provider would return a plain full-size cut-out without these options"
    assert attempts(db, task.id) == [("local", "succeeded", None)]


def test_such_options_on_a_route_without_local_fail_clearly_and_are_refunded(
        db, tmp_path, fault: FaultServer, photo: bytes) -> None:
    ctx = routed_context(db, tmp_path, {"up": rembg_table(fault.url)}, ["up"])
    account = make_account(db, 10)
    task, _ = submit(db, tmp_path, account, source_url=None, input_data=photo, cost=COST, output_format="auto")
    run_task(ctx, task.id)
    done = get_task(db, task.id)
    assert (done.status, done.error_code) == ("failed", "upstream_unavailable") and fault.requests == 0
    assert "only by this deployment's own workers" in (done.error_message or "")
    assert books(db, account, task.id) == (10, {"reserve": 1, "refund": 1})
