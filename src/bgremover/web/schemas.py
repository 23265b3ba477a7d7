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


class ModelsList(BaseModel):
    models: list[ModelPublic]


class LedgerEntryPublic(BaseModel):
    id: int
    delta: int
    reason: str
    task_id: str | None
    created_at: datetime


class CreditsPublic(BaseModel):
    credits: int
    reserved: int
    ledger: list[LedgerEntryPublic]


class HealthStatus(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}
