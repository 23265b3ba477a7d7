"""Comparing a secret a client sent (a signature, a CSRF token, a bearer token) with the expected one."""
from __future__ import annotations

import hmac


def same_secret(expected: str, given: str | None) -> bool:
    """Constant-time equality. Compared as UTF-8 bytes: ``hmac.compare_digest`` raises TypeError on a str
    with non-ASCII characters, and any client can send one (it answered 500 instead of 401/403/410)."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
