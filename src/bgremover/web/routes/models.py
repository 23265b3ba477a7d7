"""GET /api/v1/models: the public models, cheapest first, with what was measured about them, the figures in a
buyer's words, the providers that serve each one (its route) with their health over the last hour, and how to
call it."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bgremover.providers.config import LOCAL
from bgremover.service.coverage import RouteStop, coverage
from bgremover.service.model_facts import model_facts
from bgremover.web.deps import StateDep
from bgremover.web.schemas import (
    MAX_WAIT_S,
    ModelProviderPublic,
    ModelPublic,
    ModelsList,
    ModelSummary,
    ProviderHealthPublic,
)

router = APIRouter(tags=["models"])

QUALITY_KEYS = ("sad", "mse", "grad", "conn", "iou", "f_measure", "mae", "quality_score", "dataset", "set")
LATENCY_KEYS = ("latency", "p50", "p95", "ms", "images_per_s", "throughput", "device")


def _split_measured(measured: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``[presets.X.measured]`` may hold ``quality``/``latency`` tables, or flat keys that we sort by name."""
    quality = dict(measured.get("quality", {})) or None
    latency = dict(measured.get("latency", {})) or None
    flat = {k: v for k, v in measured.items() if not isinstance(v, dict)}
    q = {k: v for k, v in flat.items() if not any(s in k.lower() for s in LATENCY_KEYS)}
    lt = {k: v for k, v in flat.items() if k not in q}
    return (quality or q or None), (latency or lt or None)


def _scalar_only(d: dict[str, Any] | None) -> dict[str, float | str] | None:
    if not d:
        return None
    return {k: v if isinstance(v, (int, float, str)) else str(v) for k, v in d.items()}


def integration_note(route: list[RouteStop]) -> str:
    """What calling the model involves; the same for every model except who may serve it."""
    note = f'async task + polling; "wait": N (≤ {MAX_WAIT_S} s) answers synchronously when done in time'
    if [s.name for s in route] == [LOCAL]:
        return note + "; runs on this server"
    return note + "; tried in route order with automatic failover, charged once, only on success"


def _summary(quality: dict[str, Any] | None, latency: dict[str, Any] | None, baselines: dict[str, Any]) -> ModelSummary:
    facts = model_facts(quality, latency, baselines)
    verdict = facts.quality
    return ModelSummary(quality=verdict.words if verdict else None, quality_better=verdict and verdict.better,
                        quality_measures=verdict and verdict.measures, quality_peer=verdict and verdict.peer,
                        seconds_per_mp=facts.seconds_per_mp)


def _provider(stop: RouteStop) -> ModelProviderPublic:
    h = stop.health
    return ModelProviderPublic(name=stop.name, kind=stop.kind, pinnable=stop.pinnable, health=ProviderHealthPublic(
        state=h.state, attempts=h.attempts, success_rate=h.success_rate, p50_latency_s=h.p50_latency_s,
        window_s=h.window_s))


@router.get("/api/v1/models", response_model=ModelsList)
def list_models(state: StateDep) -> ModelsList:
    statuses = state.models.statuses()
    routes = coverage(state.db, state.providers, [s.preset.name for s in statuses],
                      failures_to_open=state.settings.provider_breaker_failures)
    out = []
    for status in statuses:
        p = status.preset
        quality, latency = _split_measured(p.measured)
        out.append(ModelPublic(
            id=p.name, credits=p.credits, formats=["png", "webp"], description=p.description, licence=p.licence,
            available=status.available, default=status.default,
            quality=_scalar_only(quality), latency=_scalar_only(latency),
            summary=_summary(quality, latency, state.models.catalog.baselines),
            providers=[_provider(stop) for stop in routes[p.name]], integration=integration_note(routes[p.name])))
    return ModelsList(models=out)
