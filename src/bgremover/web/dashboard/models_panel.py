"""/models: the decision panel a buyer reads in ten seconds. One card per public model, cheapest first: price,
quality in words and one number, speed per 1 MP photo, licence, the providers that serve it with their health
over the last hour, and how to call it; every raw figure, labelled, one click away.

The cards are the payload of ``GET /api/v1/models`` (same function, same order), joined with the catalog's
model files (where the model runs) and the live median latency of the last 24 hours from the tasks table.
"""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from bgremover.service.model_facts import Figure, label
from bgremover.service.usage import LiveLatency, live_latency
from bgremover.web.dashboard.render import render
from bgremover.web.dashboard.session import MaybeSession
from bgremover.web.deps import StateDep
from bgremover.web.routes.models import list_models
from bgremover.inference.catalog import ModelSpec
from bgremover.web.schemas import ModelPublic

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class PanelRow:
    model: ModelPublic
    runs_on: str  # where the weights run
    weights: list[str]  # "u2netp.onnx (4.6 MB, Apache-2.0)"
    live: LiveLatency | None
    unavailable_reason: str | None = None  # why it cannot run here, in the operator's terms

    @property
    def figures(self) -> list[Figure]:
        """Every raw figure of the API's quality and latency tables, with its human label."""
        return [Figure(k, label(k), v) for d in (self.model.quality or {}, self.model.latency or {})
                for k, v in d.items()]


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n else "size unknown"


def _unavailable_reason(state: StateDep, specs: list[ModelSpec]) -> str:
    if any(not state.models.licence_accepted(s) for s in specs):
        return "licence not accepted (operator opt-in)"
    return "weights not installed"


@router.get("/models")
async def models_panel(request: Request, state: StateDep, session: MaybeSession) -> Response:
    listing = await run_in_threadpool(list_models, state)  # reads the tasks table for the providers' health
    live = await run_in_threadpool(live_latency, state.db)
    catalog = state.models.catalog
    rows = []
    for m in listing.models:
        preset = catalog.presets[m.id]
        specs = [catalog.models[name] for name in preset.models]
        weights = [f"{s.file} ({_megabytes(s.bytes)}, {s.licence})" for s in specs]
        rows.append(PanelRow(m, "local model: ONNX Runtime on this server", weights, live.get(m.id),
                             None if m.available else _unavailable_reason(state, specs)))
    return render(request, "models.html", session, rows=rows)
