"""schemathesis against ``/openapi.json`` of a real server with a real key: no 5xx, no answer the schema does
not document (status, content type, body, headers), nothing invalid accepted.

Two checks are left out, each for a reason that is about the check, not the service:
``positive_data_acceptance`` (a schema-valid string can still be an unusable image URL or colour: refusing it
with 400 is the contract) and ``use_after_free`` (DELETE cancels a task; the canceled task stays readable by
design).
The server runs without workers, so no generated image URL is ever fetched: all traffic stays on loopback.
The remove.bg routes (/v1.0/...) answer only once their task has run, so they are left to
tests/web/removebg/test_schema.py, whose server has a worker.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardening.conftest import start_service
from web.service_process import ServiceProcess

EXCLUDED = "positive_data_acceptance,use_after_free"
MAX_EXAMPLES = int(os.environ.get("BGREMOVER_SCHEMA_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def api_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    svc = start_service(tmp_path_factory.mktemp("schema"), workers=0,
                        BGREMOVER_PAYMENT_WEBHOOK_SECRET="whsec_" + "s" * 32)
    yield svc
    svc.stop()


@pytest.mark.slow
def test_the_api_keeps_its_openapi_contract(api_only: ServiceProcess, tmp_path: Path) -> None:
    acc = api_only.new_account(100_000)
    st = Path(sys.executable).parent / "st"
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("schemathesis_hooks.py")),
           "NO_COLOR": "1"}
    proc = subprocess.run([str(st), "run", f"{api_only.base_url}/openapi.json", "--exclude-path-regex", "^/v1\\.0/",
                           "-H", f"Authorization: Bearer {acc.key}", "--checks", "all", "--exclude-checks", EXCLUDED,
                           "--max-examples", str(MAX_EXAMPLES), "--seed", "1", "--request-timeout", "20",
                           "--workers", "1", "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "Tested: " in out and " passed" in out, out[-2000:]
    assert "internal_error" not in api_only.log_text() and "unhandled" not in api_only.log_text()


def test_a_webhook_signature_with_non_ascii_bytes_is_refused_not_a_500(api_only: ServiceProcess) -> None:
    from bgremover.service.payment_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER

    import httpx

    r = httpx.post(f"{api_only.base_url}/billing/webhooks/payment", content=b"{}",
                   headers={TIMESTAMP_HEADER: "1700000000", SIGNATURE_HEADER: b"sha256=" + b"\xe9" * 64}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_rejected", r.text
