"""Request dependencies: the app state and the caller's account from its API key (which is never logged)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from bgremover.service import keys
from bgremover.service.accounts import Account
from bgremover.service.errors import RateLimited, Unauthorized
from bgremover.web.errors import InvalidApiKey
from bgremover.web.state import AppState

bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer aio_…`")
# The same key in a header of its own, as remove.bg's clients send it; Authorization wins when both are sent.
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="X-API-Key",
                              description="the same API key as `X-API-Key: aio_…` (remove.bg-style clients)")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_state(request: Request) -> AppState:
    return request.app.state.bg  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(get_state)]


@dataclass(frozen=True)
class Principal:
    account: Account
    key_id: int


def _key_from(creds: HTTPAuthorizationCredentials | None, header_key: str | None) -> str | None:
    if creds is not None and creds.scheme.lower() == "bearer":
        return creds.credentials.strip()
    return header_key


def optional_principal(request: Request, response: Response, state: StateDep,
                       creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                       header_key: Annotated[str | None, Depends(api_key_header)]) -> Principal | None:
    key = _key_from(creds, header_key)
    if not key:
        return None
    found = keys.authenticate(state.db, state.secret, key)
    if found is None:
        raise InvalidApiKey("unknown or revoked API key")
    principal = Principal(*found)
    request.state.account_id = principal.account.id
    enforce_rate_limit(state, principal, response, submission=request.method not in READ_METHODS)
    return principal


def require_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise Unauthorized("missing API key: send `Authorization: Bearer <API_KEY>`")
    return principal


def enforce_rate_limit(state: AppState, principal: Principal, response: Response, *, submission: bool) -> None:
    """Per key and minute, two budgets: submissions (POST, DELETE) and reads (polling), so polling a few tasks
    never spends the budget for new ones. Headers and the 429 name the budget that applied."""
    settings = state.settings
    if submission:
        limit, bucket, what, setting = (settings.rate_limit_per_minute, "key", "submissions",
                                        "BGREMOVER_RATE_LIMIT_PER_MINUTE")
    else:
        limit, bucket, what, setting = (settings.read_rate_limit_per_minute, "key-read", "reads",
                                        "BGREMOVER_READ_RATE_LIMIT_PER_MINUTE")
    window = 60
    now = time.time()
    count = state.rate_counter.hit(f"{bucket}:{principal.key_id}", window, now)
    reset = max(1, math.ceil(window - now % window))
    remaining = max(0, limit - count)
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(reset)
    response.headers["X-RateLimit-Scope"] = what
    if count > limit:
        raise RateLimited(f"more than {limit} {what} per minute with this key ({setting}); retry after {reset} s",
                          retry_after=reset, limit=limit, remaining=0, reset=reset, scope=what)


Auth = Annotated[Principal, Depends(require_principal)]
OptionalAuth = Annotated[Principal | None, Depends(optional_principal)]
