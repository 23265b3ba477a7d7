"""Request and response bodies of the public API; field names are the contract (see issue 4)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_WAIT_S = 60


class RemoveBgRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    image: str | None = Field(None, description="http(s) URL or data: URI of the image (or upload `image_file`)")
    model: str | None = Field(None, description="a model from GET /api/v1/models; default: the endpoint's default")
    output_format: Literal["png", "webp"] = "png"
    channels: Literal["rgba", "alpha"] = "rgba"
    crop: bool = False
    crop_margin: int = Field(0, ge=0, le=10_000)
    bg_color: str | None = Field(None, max_length=32, description="fill colour, e.g. '#ffffff' or 'white'")
    wait: float = Field(0, ge=0, le=MAX_WAIT_S, description="seconds to wait for the final result (≤ 60)")
    provider: str | None = Field(None, max_length=64, description="run on this provider only, where the operator "
                                 "allows it (`pinnable`); else 400 provider_not_allowed")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class TaskAccepted(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    task_id: str
    status: str
    model: str
    credits_reserved: int
    created_at: datetime


class TaskResult(BaseModel):
    url: str
    content_type: str
    width: int
    height: int
    bytes: int
    expires_at: datetime


class TaskPublic(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    task_id: str
    status: Literal["queued", "processing", "succeeded", "failed", "canceled"]
    model: str
    output_format: str
    credits_reserved: int
    credits_charged: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: TaskResult | None
    error: ErrorBody | None
    provider: str | None = Field(None, description="the provider that served it (docs/providers.md); null: none")


class TasksPage(BaseModel):
    tasks: list[TaskPublic]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class ProviderHealthPublic(BaseModel):
    state: Literal["healthy", "degraded", "down", "no traffic"]
    attempts: int = Field(description="attempts in the window (client errors and skips left out)")
    success_rate: float | None = Field(None, description="succeeded / attempts; null without traffic")
    p50_latency_s: float | None = Field(None, description="median round trip of the successful attempts")
    window_s: float


class ModelProviderPublic(BaseModel):
    name: str = Field(description="a provider of the operator's providers file, or `local` (this server's workers)")
    kind: str
    pinnable: bool = Field(description="a request may ask for this provider with `\"provider\": NAME`")
    health: ProviderHealthPublic


class ModelSummary(BaseModel):
    quality: str | None = Field(None, description="quality in words, against the baseline peer")
    quality_better: int | None = Field(None, description="measures on which it beats the peer")
    quality_measures: int | None = None
    quality_peer: str | None = None
    seconds_per_mp: float | None = Field(None, description="seconds per 1 MP photo, from `bgremover bench`")


class ModelPublic(BaseModel):
    id: str
    credits: int
    formats: list[str]
    description: str
    licence: str
    available: bool
    default: bool
    quality: dict[str, float | str] | None = Field(None, description="measured on the evaluation set, when measured")
    latency: dict[str, float | str] | None = Field(None, description="measured by `bgremover bench`, when measured")
    summary: ModelSummary = Field(default_factory=ModelSummary, description="the figures in a buyer's words")
    providers: list[ModelProviderPublic] = Field(default_factory=list, description="the route, in the order tried, "
                                                 "with each provider's health over the last hour")
    integration: str = ""


class ModelsList(BaseModel):
    models: list[ModelPublic]


class LedgerEntryPublic(BaseModel):
    """One statement line: a grant, or one task's outcome (charge, refund, or reserve while it runs)."""
    id: int
    delta: int
    reason: str
    task_id: str | None
    note: str | None = None
    created_at: datetime


class CreditsPublic(BaseModel):
    credits: int
    reserved: int
    ledger: list[LedgerEntryPublic]
    next_before: int | None = Field(None, description="cursor of the next (older) page: pass it as `before`")


class HealthStatus(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}
