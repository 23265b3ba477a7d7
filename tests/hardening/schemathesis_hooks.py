"""Loaded by schemathesis (``SCHEMATHESIS_HOOKS``) in tests/hardening/test_schema.py.

The server under test runs no worker, so a generated ``"wait": 60`` would hold each such request for a minute;
valid waits are cut to half a second (invalid ones, which the API must refuse, are left alone).
"""
from __future__ import annotations

import schemathesis


@schemathesis.hook
def map_body(context, body):  # noqa: ANN001, ANN201 - schemathesis's hook signature
    if isinstance(body, dict) and "wait" in body:
        value = body["wait"]
        try:
            number = float(value)
        except (TypeError, ValueError):
            return body
        if 0.5 < number <= 60:
            body = {**body, "wait": 0.5 if not isinstance(value, str) else "0.5"}
    return body
