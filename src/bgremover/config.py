"""One typed settings object, read from ``BGREMOVER_*`` environment variables.

Built by :func:`load_settings`, never at import, so importing any module needs no live config.
"""
from __future__ import annotations

import os
from ipaddress import ip_network
from pathlib import Path

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_model_dir() -> Path:
    return Path(os.path.expanduser("~/.cache/bgremover/models"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BGREMOVER_", extra="ignore")

    # engine
    model_dir: Path = Field(default_factory=_default_model_dir)
    default_model: str = "bg-remover"
    # comma-separated in the environment: BGREMOVER_ACCEPT_LICENSES=agpl-3.0 allows the IS-Net weights
    accept_licenses: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_image_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 36_000_000
    onnx_threads: int = 0  # 0: one per core (`serve`: its share of the cores)
    custom_models: Path | None = None  # TOML file with bring-your-own models and presets

    # service
    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: sqlite in data_dir
    # PostgreSQL connections per process: kept open, opened at peaks, and how long a request waits past both.
    # A fleet holds at most processes x (pool + overflow); keep that under the server's max_connections.
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    db_pool_timeout_s: float = Field(default=30.0, gt=0)
    queue_url: str | None = None  # default: huey SqliteStorage in data_dir; redis://... for scale-out
    result_store: str | None = None  # "local" (default embedded) or "database"
    workers: int = 0  # worker processes `serve` starts; 0: picked from the cores (jobs/cores.py)
    host: str = "127.0.0.1"
    public_url: str | None = None  # e.g. https://bg.example.com behind a reverse proxy; result URLs start with it
    port: int = 8000
    secret_key: str | None = None  # generated and kept in data_dir when not given
    fetch_allow_networks: str = ""  # comma-separated CIDRs allowed despite the SSRF policy
    fetch_timeout_s: float = 15.0
    fetch_connect_timeout_s: float = 5.0
    fetch_max_redirects: int = 3
    fetch_read_timeout_s: float = 5.0  # the longest silence between two reads of one fetch
    # a body slower than this on average (counted from its first byte, after the grace) is a drip-feed: aborted
    fetch_min_bytes_per_s: int = 4096  # 0: no floor
    fetch_min_rate_grace_s: float = 3.0
    fetch_threads: int = 8  # the fetch stage's threads in each worker process (0: this worker fetches nothing)
    fetch_per_account: int = 2  # URL fetches one account may have in flight at once, over all workers
    # upstream providers (docs/providers.md): TOML file of providers and routes; unset: every model runs here
    providers: Path | None = None
    provider_breaker_failures: int = 5  # consecutive failures that open a provider's circuit breaker
    provider_breaker_cooldown_s: float = 30.0  # then one probe call may go through (half-open)
    provider_deadline_s: float = 180.0  # one task's whole try of its route, failovers and Retry-After waits included
    result_ttl_s: int = 24 * 3600
    idempotency_ttl_s: int = 24 * 3600  # an Idempotency-Key is remembered this long (as Stripe does), then forgotten
    rate_limit_per_minute: int = 120  # submissions (POST, DELETE) per API key and minute
    read_rate_limit_per_minute: int = 1200  # reads (GET: polling, listing, results) per API key and minute
    max_tasks_in_flight: int = 16
    max_queue_depth: int = 500
    task_lease_s: int = 120
    removebg_wait_s: float = 60.0  # /v1.0/removebg answers synchronously: how long it waits for its task
    task_max_attempts: int = 3
    task_requeue_after_s: int = 300  # queued this long: enqueue again (the queue lost its message)
    redis_url: str | None = None  # rate-limit counters; default: queue_url when that is redis://
    redis_key_prefix: str = "bgremover"  # namespaces one deployment's Redis keys (queue, counters)
    signup_enabled: bool = False
    metrics_token: str = ""  # set: GET /metrics needs `Authorization: Bearer <token>`; empty: /metrics is public
    # dashboard and billing
    session_ttl_s: int = 7 * 24 * 3600
    login_attempts_per_15min: int = 10  # failures per (email, client address); past it per email: a slow-down
    login_failures_per_address_15min: int = 30  # failures per client address, whatever the email
    # comma-separated CIDRs of reverse proxies whose X-Forwarded-For gives the client's address; empty: none
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    credit_packs: str = "100=5.00,500=20.00,2000=60.00"  # credits=price in billing_currency, comma-separated
    billing_currency: str = "EUR"
    payment_webhook_secret: str | None = None  # HMAC-SHA256 key shared with the payment provider; unset: webhook off
    payment_webhook_tolerance_s: int = 300  # signed timestamps older (or newer) than this are replays
    log_json: bool = False

    @field_validator("accept_licenses", mode="before")
    @classmethod
    def _split_licences(cls, v: object) -> object:
        if isinstance(v, str):
            return [x.strip().lower() for x in v.split(",") if x.strip()]
        return v

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, v: object) -> object:
        items = [x.strip() for x in v.split(",") if x.strip()] if isinstance(v, str) else v
        for cidr in items if isinstance(items, list) else []:
            ip_network(cidr, strict=False)  # a ValueError names the bad entry
        return items

    @property
    def sqlite_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'bgremover.db').resolve()}"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url

    @property
    def fetch_allowlist(self) -> list[str]:
        return [c.strip() for c in self.fetch_allow_networks.split(",") if c.strip()]


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
