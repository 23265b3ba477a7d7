"""GET /api/v1/models: the public models, cheapest first, with what was measured about them."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bgremover.web.deps import StateDep
from bgremover.web.schemas import ModelPublic, ModelsList

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


@router.get("/api/v1/models", response_model=ModelsList)
def list_models(state: StateDep) -> ModelsList:
    out = []
    for status in state.models.statuses():
        p = status.preset
        quality, latency = _split_measured(p.measured)
        out.append(ModelPublic(
            id=p.name, credits=p.credits, formats=["png", "webp"], description=p.description, licence=p.licence,
            available=status.available, default=status.default,
            quality=_scalar_only(quality), latency=_scalar_only(latency)))
    return ModelsList(models=out)
