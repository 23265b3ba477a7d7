"""Faults at a real upstream (a small HTTP server on 127.0.0.1): each ends with one clear outcome, the next
provider serving (here ``local``, our real u2netp pipeline) or a typed error, and no upstream text shown."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from web.service_process import free_port

from bgremover.providers import ClientInputError, ProviderMetrics, ProvidersExhausted
from providers.fault_server import UPSTREAM_SECRET_TEXT, FaultServer
from providers.routing import FAST, make_router, options, rembg_table


def outcomes(served_or_error: object) -> list[tuple[str, str, str | None]]:
    return [(a.provider, a.outcome, a.reason) for a in served_or_error.attempts]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode, reason, billed", [
    ("500", "server_error", 0.0),
    ("402", "out_of_credits", 0.0),
    ("truncated", "connection_lost", 0.0),  # fewer bytes than its Content-Length, then the connection closed
    ("nonimage", "bad_result", 1.0),  # a 200: the upstream billed it, we rejected it, the client pays nothing
    ("wrongsize", "bad_result", 1.0),
    ("noalpha", "bad_result", 1.0),
])
def test_a_failing_first_provider_fails_over_to_the_next(fault: FaultServer, remover, photo: bytes, mode: str,
                                                         reason: str, billed: float,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    fault.mode = mode
    caplog.set_level(logging.DEBUG)
    router = make_router({"up": rembg_table(fault.url)}, ["up", "local"], remover=remover)
    served = router.run_with_failover(router.route(FAST), photo, options())
    assert served.provider == "local"
    assert outcomes(served) == [("up", "failed", reason), ("local", "succeeded", None)]
    assert served.upstream_cost == billed, "what the upstreams billed us, for the margin; local costs nothing"
    assert fault.requests == 1
    assert UPSTREAM_SECRET_TEXT.decode() not in caplog.text + repr(served)


def test_hanging_past_its_timeout_fails_over(fault: FaultServer, remover, photo: bytes) -> None:
    fault.mode = "hang"
    router = make_router({"up": rembg_table(fault.url, timeout_s=1)}, ["up", "local"], remover=remover)
    t0 = time.monotonic()
    served = router.run_with_failover(router.route(FAST), photo, options())
    assert outcomes(served) == [("up", "failed", "timeout"), ("local", "succeeded", None)]
    assert served.attempts[0].latency_s < 3 and time.monotonic() - t0 < 30


def test_killed_mid_request_fails_over(remover, photo: bytes) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fault_server.py")), "--port", str(port),
                             "--mode", "hang"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        router = make_router({"up": rembg_table(f"http://127.0.0.1:{port}", timeout_s=60)}, ["up", "local"],
                             remover=remover)
        result: dict[str, object] = {}
        worker = threading.Thread(target=lambda: result.update(
            served=router.run_with_failover(router.route(FAST), photo, options())))
        worker.start()
        assert proc.stdout.readline().strip() == "request"  # the upstream has the request ...
        os.kill(proc.pid, signal.SIGKILL)  # ... and dies before answering
        worker.join(60)
        served = result["served"]
        assert outcomes(served) == [("up", "failed", "connection_lost"), ("local", "succeeded", None)]
    finally:
        proc.kill()
        proc.wait()


def test_429_is_retried_after_its_retry_after_within_the_deadline(fault: FaultServer, remover, photo: bytes) -> None:
    fault.mode, fault.retry_after = "429", "1"
    router = make_router({"up": rembg_table(fault.url)}, ["up"])
    threading.Timer(0.3, lambda: setattr(fault, "mode", "ok")).start()  # it recovers while we wait
    t0 = time.monotonic()
    served = router.run_with_failover(router.route(FAST), photo, options())
    assert outcomes(served) == [("up", "failed", "rate_limited"), ("up", "succeeded", None)]
    assert time.monotonic() - t0 >= 1.0, "not asked again before its Retry-After"


def test_429_past_the_deadline_fails_over_at_once_and_holds_the_provider(fault: FaultServer, remover,
                                                                        photo: bytes) -> None:
    fault.mode, fault.retry_after = "429", "3600"
    router = make_router({"up": rembg_table(fault.url)}, ["up", "local"], remover=remover)
    served = router.run_with_failover(router.route(FAST), photo, options())
    assert outcomes(served) == [("up", "failed", "rate_limited"), ("local", "succeeded", None)]
    again = router.run_with_failover(router.route(FAST), photo, options())
    assert outcomes(again) == [("up", "skipped", "rate_limited"), ("local", "succeeded", None)]
    assert fault.requests == 1, "nothing sent to it during its Retry-After"


def test_every_provider_down_is_one_clear_error(fault: FaultServer, photo: bytes) -> None:
    fault.mode = "500"
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    router = make_router({"a": rembg_table(fault.url), "b": rembg_table(closed)}, ["a", "b"])
    with pytest.raises(ProvidersExhausted) as info:
        router.run_with_failover(router.route(FAST), photo, options())
    assert info.value.code == "upstream_unavailable"
    assert "nothing was charged" in info.value.message
    assert outcomes(info.value) == [("a", "failed", "server_error"), ("b", "failed", "connect")]
    assert UPSTREAM_SECRET_TEXT.decode() not in str(info.value)


def test_the_clients_bad_image_fails_once_and_no_provider_is_called(fault: FaultServer, photo: bytes) -> None:
    router = make_router({"up": rembg_table(fault.url)}, ["up", "local"])
    with pytest.raises(ClientInputError) as info:
        router.run_with_failover(router.route(FAST), photo[: len(photo) // 2], options())
    assert info.value.code == "corrupt_image"
    assert fault.requests == 0


def test_the_breaker_opens_after_consecutive_failures_and_closes_after_a_good_probe(
        fault: FaultServer, cutout: bytes, photo: bytes) -> None:
    fault.mode = "500"
    spare = FaultServer(cutout=cutout).start()
    try:
        metrics = ProviderMetrics()
        router = make_router({"up": rembg_table(fault.url), "spare": rembg_table(spare.url)}, ["up", "spare"],
                             breaker_failures=2, breaker_cooldown_s=2.0, metrics=metrics)
        route = router.route(FAST)
        for _ in range(2):
            assert router.run_with_failover(route, photo, options()).attempts[0].reason == "server_error"
        assert router.breaker("up").state == "open"
        assert metrics.registry.get_sample_value("bgremover_provider_breaker_state", {"provider": "up"}) == 2
        skipped = router.run_with_failover(route, photo, options())
        assert outcomes(skipped) == [("up", "skipped", "breaker_open"), ("spare", "succeeded", None)]
        assert fault.requests == 2, "nothing sent while open"
        fault.mode = "ok"
        time.sleep(2.1)
        assert router.breaker("up").state == "half_open"
        probe = router.run_with_failover(route, photo, options())
        assert outcomes(probe) == [("up", "succeeded", None)]
        assert router.breaker("up").state == "closed"
        health = router.health()["up"]
        assert health.requests == 3 and health.success_rate == pytest.approx(1 / 3)
        assert health.p50_latency_s is not None
        sample = metrics.registry.get_sample_value
        assert sample("bgremover_provider_breaker_state", {"provider": "up"}) == 0
        assert sample("bgremover_provider_failures_total", {"provider": "up", "reason": "server_error"}) == 2
        assert sample("bgremover_provider_attempts_total", {"provider": "up", "outcome": "skipped"}) == 1
        assert sample("bgremover_provider_latency_seconds_count", {"provider": "up"}) == 1
    finally:
        spare.stop()


def test_40_concurrent_calls_over_two_providers_never_exceed_the_first_ones_cap(cutout: bytes, photo: bytes) -> None:
    first = FaultServer(cutout=cutout, delay_s=0.2).start()
    second = FaultServer(cutout=cutout, delay_s=0.2).start()
    try:
        router = make_router({"first": rembg_table(first.url, max_concurrency=2),
                              "second": rembg_table(second.url, max_concurrency=40)}, ["first", "second"])
        route = router.route(FAST)
        served: list[str] = []
        errors: list[BaseException] = []

        def call() -> None:
            try:
                served.append(router.run_with_failover(route, photo, options()).provider)
            except BaseException as exc:  # noqa: BLE001 - counted below
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors and len(served) == 40, "none lost"
        assert first.max_in_flight <= 2, "the cap held at the upstream itself"
        assert first.requests + second.requests == 40
        assert served.count("first") == first.requests >= 2
    finally:
        first.stop()
        second.stop()
