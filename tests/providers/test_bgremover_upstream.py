"""What only the bgremover kind does: poll an upstream task that outlives ``wait``, and pay its credits once."""
from __future__ import annotations

import httpx
import pytest

from bgremover.providers import bgremover_api
from providers.conftest import PHOTO_SIZE, Upstream
from providers.routing import FAST, make_router, options, pixels


def balance(upstream: Upstream) -> int:
    key = upstream.env["UP_BGREMOVER_KEY"]
    r = httpx.get(f"{upstream.table['url']}/billing/credits", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return int(r.json()["credits"])


def test_a_task_that_outlives_wait_is_polled_to_its_result_and_charged_once_upstream(
        bgremover_upstream: Upstream, photo: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bgremover_api, "MAX_WAIT_S", 0)  # answer 202 at once: the poll path
    before = balance(bgremover_upstream)
    router = make_router({"gpu": bgremover_upstream.table}, ["gpu"], environ=bgremover_upstream.env)
    served = router.run_with_failover(router.route(FAST), photo, options(), idempotency_key="task-1")
    assert served.provider == "gpu" and pixels(served.result.data)[:2] == ("RGBA", PHOTO_SIZE)
    assert balance(bgremover_upstream) == before - 1
