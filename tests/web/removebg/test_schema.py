"""schemathesis over the remove.bg routes of a real server with a real key: no 5xx, nothing undocumented.

The server runs a worker with u2netp, so a generated image that decodes is really cut out (a 1 x 1 PNG takes
well under a second) and one that does not fails its task (400, refunded). Traffic stays on loopback: the
server may fetch only from 127.0.0.1 (``BGREMOVER_FETCH_ALLOW_NETWORKS``), and any other generated URL is
refused by the SSRF policy before a connection is made."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from web.removebg.conftest import post, sample_bytes

EXCLUDED = "positive_data_acceptance,use_after_free"  # as tests/hardening/test_schema.py, for the same reasons
# this route answers once the model has run; how long that takes on a shared CPU is not part of the contract
RESPONSE_TIME_S = "90"
MAX_EXAMPLES = int(os.environ.get("BGREMOVER_SCHEMA_EXAMPLES", "30"))


@pytest.mark.slow
def test_the_remove_bg_routes_keep_their_contract_and_never_5xx(removebg_service, tmp_path: Path) -> None:
    svc = removebg_service
    acc = svc.new_account(100_000)
    warm = post(svc, acc, files={"image_file": ("p.jpg", sample_bytes(), "image/jpeg")})  # the worker's model loaded
    assert warm.status_code == 200, warm.text
    st = Path(sys.executable).parent / "st"
    proc = subprocess.run([str(st), "run", f"{svc.base_url}/openapi.json", "--include-path-regex", "^/v1\\.0/",
                           "-H", f"X-Api-Key: {acc.key}", "--checks", "all", "--exclude-checks", EXCLUDED,
                           "--max-examples", str(MAX_EXAMPLES), "--seed", "1", "--request-timeout", "90",
                           "--max-response-time", RESPONSE_TIME_S,
                           "--workers", "1", "--report-dir", str(tmp_path)],
                          check=False, capture_output=True, text=True, timeout=400, env={**os.environ, "NO_COLOR": "1"},
                          cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "Tested: " not in out or " passed" in out, out[-2000:]
    log = svc.log_text()
    assert "unhandled" not in log and "internal_error" not in log
    assert "/v1.0/removebg" in log  # the routes were exercised
