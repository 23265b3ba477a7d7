"""Liveness, readiness (each dependency reported) and Prometheus metrics (behind a token when one is set)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from bgremover.errors import ModelNotAvailable
from bgremover.service.constant_time import same_secret
from bgremover.web.deps import StateDep
from bgremover.web.schemas import HealthStatus

router = APIRouter(tags=["health"])


# HEAD too: load balancers and uptime checkers often probe with HEAD, and a 405 would read as "down"
@router.api_route("/healthz", methods=["GET", "HEAD"], response_model=HealthStatus)
def healthz() -> HealthStatus:
    return HealthStatus(status="ok")


@router.api_route("/readyz", methods=["GET", "HEAD"], response_model=HealthStatus,
                  responses={503: {"model": HealthStatus}})
def readyz(state: StateDep) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, probe in (("database", state.db.ping), ("queue", state.queue.ping)):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
    try:
        preset = state.models.catalog.preset(state.models.default_name)
        problem = state.models.problem(preset)
        why = "missing" if isinstance(problem, ModelNotAvailable) else problem.code if problem else "ok"
        checks["default_model"] = "ok" if problem is None else f"{why}: {preset.name} ({', '.join(preset.models)})"
    except Exception as exc:
        checks["default_model"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    body = HealthStatus(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def _check_metrics_token(request: Request, expected: str) -> None:
    """The token is never logged or echoed."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    ok = scheme.lower() == "bearer" and same_secret(expected.strip(), given.strip())
    if not ok:
        raise HTTPException(401, "/metrics needs `Authorization: Bearer <BGREMOVER_METRICS_TOKEN>`",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


@router.get("/metrics", response_class=Response)
def metrics(request: Request, state: StateDep) -> Response:
    if state.settings.metrics_token:
        _check_metrics_token(request, state.settings.metrics_token)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
