"""GET /billing/credits: the caller's balance, what running tasks hold, and the recent ledger."""
from __future__ import annotations

from fastapi import APIRouter

from bgremover.service import credits
from bgremover.web.deps import Auth, StateDep
from bgremover.web.schemas import CreditsPublic, LedgerEntryPublic

router = APIRouter(tags=["billing"])


@router.get("/billing/credits", response_model=CreditsPublic)
def get_credits(state: StateDep, principal: Auth) -> CreditsPublic:
    bal = credits.balance(state.db, account_id=principal.account.id)
    return CreditsPublic(credits=bal.credits, reserved=bal.reserved, ledger=[
        LedgerEntryPublic(id=e.id, delta=e.delta, reason=e.reason, task_id=e.task_id, created_at=e.created_at)
        for e in bal.ledger])
