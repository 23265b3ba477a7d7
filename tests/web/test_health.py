"""Health, readiness, metrics, OpenAPI and the model list."""
from __future__ import annotations

import re


def test_healthz_and_readyz_report_each_dependency(service):
    with service.client() as c:
        assert c.get("/healthz").json()["status"] == "ok"
        ready = c.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "queue": "ok", "default_model": "ok"}


def test_health_probes_answer_head_as_load_balancers_send_it(service):
    with service.client() as c:
        for path in ("/healthz", "/readyz"):
            r = c.head(path)
            assert r.status_code == 200, path
            assert r.content == b""
            assert r.headers["content-type"] == "application/json"


def test_metrics_are_prometheus_text(service):
    with service.client() as c:
        c.get("/healthz")
        r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    for name in ("bgremover_http_requests_total", "bgremover_queue_depth", "bgremover_tasks{",
                 "bgremover_worker_busy_seconds_total", "bgremover_task_latency_seconds_count"):
        assert name in r.text, name
    assert 'route="/healthz"' in r.text


def test_openapi_and_docs(service):
    with service.client() as c:
        spec = c.get("/openapi.json").json()
        docs = c.get("/docs")
        assert docs.status_code == 200
        # works offline: every script and stylesheet of the docs page is served by us
        assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert assets and all(a.startswith("/") for a in assets), assets
        for a in assets:
            assert c.get(a).status_code == 200, a
    paths = spec["paths"]
    assert {"/api/v1/images/tools/remove-bg", "/api/v1/tasks", "/api/v1/tasks/{task_id}",
            "/api/v1/tasks/{task_id}/result", "/api/v1/models", "/billing/credits", "/healthz", "/readyz",
            "/metrics"} <= set(paths)
    body = paths["/api/v1/images/tools/remove-bg"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)


def test_models_sorted_by_credits_with_availability(service):
    with service.client() as c:
        models = c.get("/api/v1/models").json()["models"]
    credits = [m["credits"] for m in models]
    assert credits == sorted(credits)
    by_id = {m["id"]: m for m in models}
    assert {"bg-remover", "bg-remover-fast"} <= set(by_id)
    fast = by_id["bg-remover-fast"]
    assert fast["available"] is True and fast["formats"] == ["png", "webp"] and fast["licence"]
    assert by_id["bg-remover"]["default"] is True
    assert {"id", "credits", "formats", "description", "licence", "available", "quality", "latency"} <= set(fast)
