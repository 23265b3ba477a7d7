"""Request dependencies: the app state and the caller's account from its API key (which is never logged)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bgremover.service import keys
from bgremover.service.accounts import Account
from bgremover.service.errors import RateLimited, Unauthorized
from bgremover.web.errors import InvalidApiKey
from bgremover.web.state import AppState

bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer aio_…`")


def get_state(request: Request) -> AppState:
    return request.app.state.bg  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(get_state)]


@dataclass(frozen=True)
class Principal:
    account: Account
    key_id: int


def _key_from(request: Request, creds: HTTPAuthorizationCredentials | None) -> str | None:
    if creds is not None and creds.scheme.lower() == "bearer":
        return creds.credentials.strip()
    return request.headers.get("x-api-key")  # remove.bg-style clients


def optional_principal(request: Request, response: Response, state: StateDep,
                       creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal | None:
    key = _key_from(request, creds)
    if not key:
        return None
    found = keys.authenticate(state.db, state.secret, key)
    if found is None:
        raise InvalidApiKey("unknown or revoked API key")
    principal = Principal(*found)
    request.state.account_id = principal.account.id
    enforce_rate_limit(state, principal, response)
    return principal


def require_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise Unauthorized("missing API key: send `Authorization: Bearer <API_KEY>`")
    return principal


def enforce_rate_limit(state: AppState, principal: Principal, response: Response) -> None:
    limit, window = state.settings.rate_limit_per_minute, 60
    now = time.time()
    count = state.rate_counter.hit(f"key:{principal.key_id}", window, now)
    reset = max(1, math.ceil(window - now % window))
    remaining = max(0, limit - count)
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(reset)
    if count > limit:
        raise RateLimited(f"more than {limit} requests per minute with this key", retry_after=reset, limit=limit,
                          remaining=0, reset=reset)


Auth = Annotated[Principal, Depends(require_principal)]
OptionalAuth = Annotated[Principal | None, Depends(optional_principal)]
