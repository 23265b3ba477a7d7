"""The sign-in throttle: stop a guesser without letting them lock the owner out.

Failures are counted in three fixed 15-minute windows, by the client's address (``request.client``: the
peer, or the X-Forwarded-For address that a proxy in ``BGREMOVER_TRUSTED_PROXIES`` vouches for; uvicorn
applies that list):

- per (email, address): ``login_attempts_per_15min`` failures and that address may not try that email again;
- per address, any email: ``login_failures_per_address_15min`` failures and that address may not sign in at all;
- per email, any address: past ``login_attempts_per_15min`` the account slows down (every attempt waits
  ``SLOWDOWN_S`` first) but never locks, so its owner, from an address that has not failed, still gets in.

Only failures count, so signing in often costs nothing. A guesser gets at most that many guesses per address,
and each address it burns stays refused for the rest of the window.
"""
from __future__ import annotations

import asyncio
import hashlib
import time

from fastapi import Request

from bgremover.web.state import AppState

WINDOW_S = 15 * 60
SLOWDOWN_S = 1.0


def _buckets(request: Request, email: str) -> dict[str, str]:
    client = request.client.host if request.client else "unknown"
    account = email.strip().lower()

    def h(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:40]  # fits any counter, stores no email
    return {"pair": f"login:{h(f'{account}|{client}')}", "address": f"login-addr:{h(client)}",
            "account": f"login-acct:{h(account)}"}


async def admit(state: AppState, request: Request, email: str) -> bool:
    """False: refuse this attempt (429). True: check the password, after the slow-down if the account has one."""
    buckets, now, settings = _buckets(request, email), time.time(), state.settings
    counter = state.rate_counter
    if (counter.peek(buckets["pair"], WINDOW_S, now) >= settings.login_attempts_per_15min
            or counter.peek(buckets["address"], WINDOW_S, now) >= settings.login_failures_per_address_15min):
        return False
    if counter.peek(buckets["account"], WINDOW_S, now) >= settings.login_attempts_per_15min:
        await asyncio.sleep(SLOWDOWN_S)
    return True


def record_failure(state: AppState, request: Request, email: str) -> None:
    now = time.time()
    for bucket in _buckets(request, email).values():
        state.rate_counter.hit(bucket, WINDOW_S, now)
