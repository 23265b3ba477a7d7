"""One typed settings object, read from ``BGREMOVER_*`` environment variables.

Built by :func:`load_settings`, never at import, so importing any module needs no live config.
"""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_model_dir() -> Path:
    return Path(os.path.expanduser("~/.cache/bgremover/models"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BGREMOVER_", extra="ignore")

    # engine
    model_dir: Path = Field(default_factory=_default_model_dir)
    default_model: str = "bg-remover"
    accept_licenses: list[str] = Field(default_factory=list, description="e.g. ['agpl-3.0'] to allow IS-Net")
    max_image_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 36_000_000
    onnx_threads: int = 0  # 0: one per core
    custom_models: Path | None = None  # TOML file with bring-your-own models and presets

    # service
    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: sqlite in data_dir
    queue_url: str | None = None  # default: huey SqliteStorage in data_dir; redis://... for scale-out
    result_store: str | None = None  # "local" (default embedded) or "database"
    workers: int = 1
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None  # generated and kept in data_dir when not given
    fetch_allow_networks: str = ""  # comma-separated CIDRs allowed despite the SSRF policy
    fetch_timeout_s: float = 15.0
    fetch_connect_timeout_s: float = 5.0
    fetch_max_redirects: int = 3
    result_ttl_s: int = 24 * 3600
    rate_limit_per_minute: int = 120
    max_tasks_in_flight: int = 16
    max_queue_depth: int = 500
    task_lease_s: int = 120
    task_max_attempts: int = 3
    signup_enabled: bool = False
    log_json: bool = False

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
