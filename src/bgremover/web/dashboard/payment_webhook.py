"""POST /billing/webhooks/payment: the payment provider confirms an order (see ``service/payment_webhook.py``).

Answers 200 with ``{"outcome"}`` for anything genuine, including a redelivery (so the provider stops
retrying), 400 ``webhook_rejected`` for a bad signature, a stale timestamp or a body that is not a
valid event, and 404 ``webhook_disabled`` while no secret is configured.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bgremover.service.errors import WebhookDisabled, WebhookRejected
from bgremover.service.payment_webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, handle_event, verify
from bgremover.web.deps import StateDep

router = APIRouter(tags=["billing"])

MAX_BODY = 64 * 1024


@router.post("/billing/webhooks/payment", responses={400: {"description": "webhook_rejected"}})
async def payment_webhook(request: Request, state: StateDep) -> JSONResponse:
    """Signed by the provider: `X-Payment-Signature: sha256=HMAC(secret, "<X-Payment-Timestamp>." + body)`."""
    secret = state.settings.payment_webhook_secret
    if not secret:
        raise WebhookDisabled("no payment webhook secret is configured on this endpoint")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise WebhookRejected(f"the event is over {MAX_BODY} bytes")
    verify(secret, timestamp=request.headers.get(TIMESTAMP_HEADER), signature=request.headers.get(SIGNATURE_HEADER),
           body=body, tolerance_s=state.settings.payment_webhook_tolerance_s)
    outcome = await run_in_threadpool(handle_event, state.db, body)
    return JSONResponse({"outcome": outcome})
