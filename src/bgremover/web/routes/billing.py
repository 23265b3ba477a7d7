"""GET /billing/credits: the caller's balance, what running tasks hold, and the statement (one line per task
outcome, paged by the ``before`` cursor); GET /billing/credits.csv: the whole statement for accounting."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from bgremover.service import credits, statement
from bgremover.web.deps import Auth, StateDep
from bgremover.web.schemas import CreditsPublic, LedgerEntryPublic

router = APIRouter(tags=["billing"])


@router.get("/billing/credits", response_model=CreditsPublic)
def get_credits(state: StateDep, principal: Auth,
                limit: Annotated[int, Query(ge=1, le=statement.MAX_PAGE_SIZE)] = statement.PAGE_SIZE,
                before: Annotated[int | None, Query(ge=1, le=2**53,
                                                    description="`next_before` of the previous page")] = None,
                ) -> CreditsPublic:
    account_id = principal.account.id
    bal = credits.balance(state.db, account_id=account_id, limit=0)
    page = statement.page(state.db, account_id=account_id, limit=limit, before=before)
    return CreditsPublic(credits=bal.credits, reserved=bal.reserved, next_before=page.next_before, ledger=[
        LedgerEntryPublic(id=e.id, delta=e.delta, reason=e.reason, task_id=e.task_id, note=e.note,
                          created_at=e.created_at) for e in page.entries])


@router.get("/billing/credits.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "the whole statement, oldest first"}})
async def get_credits_csv(state: StateDep, principal: Auth) -> StreamingResponse:
    lines = await run_in_threadpool(lambda: list(statement.csv_lines(state.db, account_id=principal.account.id)))
    return csv_response(lines)


def csv_response(lines: list[str]) -> StreamingResponse:
    return StreamingResponse(iter(lines), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="bgremover-statement.csv"'})
