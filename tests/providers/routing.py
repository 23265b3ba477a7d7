"""Build a router from providers-file tables, as the operator would write them (loopback allowed)."""
from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from bgremover.pipeline.remover import CutoutOptions
from bgremover.providers import Router, parse_providers

ALLOW = ["127.0.0.1/32"]
FAST = "bg-remover-fast"


def make_router(tables: dict[str, dict[str, Any]], route: list[str], *, environ: dict[str, str] | None = None,
                remover: Any = None, **kw: Any) -> Router:
    config = parse_providers({"providers": tables, "routes": {FAST: route}}, fetch_allowlist=ALLOW,
                             environ=environ or {})
    local_run = (lambda data, opts: remover.remove(data, opts)) if remover is not None else None
    return Router(config, fetch_allowlist=ALLOW, local_run=local_run, **kw)


def options(**kw: Any) -> CutoutOptions:
    return CutoutOptions(model=FAST, **kw)


def rembg_table(url: str, **kw: Any) -> dict[str, Any]:
    return {"kind": "rembg", "url": url, "timeout_s": 10, "max_concurrency": 4, "cost_per_image": 1.0, **kw}


def pixels(data: bytes) -> tuple[str, tuple[int, int], np.ndarray]:
    im = Image.open(io.BytesIO(data))
    return im.mode, im.size, np.asarray(im)
