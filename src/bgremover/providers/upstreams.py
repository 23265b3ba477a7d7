"""The kinds of provider: each turns (photo, our model) into an upstream's RGBA cut-out, then the base class
checks it and applies the task's options (``result.py``). ``local`` is this deployment's own pipeline, called
through the function the task run hands in, so this package never imports the worker or the service.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bgremover.pipeline.remover import CutoutOptions
from bgremover.providers.bgremover_api import fetch_bgremover_cutout
from bgremover.providers.config import ProviderSpec
from bgremover.providers.errors import UpstreamUnavailable
from bgremover.providers.result import (
    PreparedInput,
    ProviderResult,
    check_cutout,
    finish_cutout,
)
from bgremover.providers.transport import PinnedHttp, raise_for_status

LocalRun = Callable[[bytes, CutoutOptions], Any]  # Remover.remove: returns a Cutout (data, content_type, ...)


class Provider:
    """``remove(image, options, deadline=...)`` to a validated, finished :class:`ProviderResult`."""

    def __init__(self, spec: ProviderSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    def remove(self, image: PreparedInput, options: CutoutOptions, *, deadline: float,
               idempotency_key: str | None = None) -> ProviderResult:
        image.check()  # the client's bad image fails here, before an upstream is called (or paid)
        t0 = time.monotonic()
        body = self.fetch_cutout(image, self.spec.upstream_model(options.model or ""), deadline=deadline,
                                 idempotency_key=idempotency_key)
        latency = time.monotonic() - t0
        rgb, alpha = check_cutout(body, image, self.name)
        return finish_cutout(rgb, alpha, options, provider=self.name, upstream_cost=self.spec.cost_per_image,
                             latency_s=latency)

    def fetch_cutout(self, image: PreparedInput, model: str | None, *, deadline: float,
                     idempotency_key: str | None) -> bytes:
        raise NotImplementedError


class RemoteProvider(Provider):
    def __init__(self, spec: ProviderSpec, http: PinnedHttp) -> None:
        super().__init__(spec)
        self.http = http

    def key_header(self, name: str, prefix: str = "") -> dict[str, str]:
        return {name: prefix + self.spec.api_key.reveal()} if self.spec.api_key else {}


class BgRemoverProvider(RemoteProvider):
    """Another bgremover deployment, through its public API (upload, ``wait``, poll, download)."""

    def fetch_cutout(self, image: PreparedInput, model: str | None, *, deadline: float,
                     idempotency_key: str | None) -> bytes:
        return fetch_bgremover_cutout(self.http, image, model, deadline=deadline,
                                      headers=self.key_header("Authorization", "Bearer "),
                                      idempotency_key=idempotency_key)


class RemoveBgProvider(RemoteProvider):
    """remove.bg or a compatible API: ``POST /v1.0/removebg`` with ``X-Api-Key``, the image bytes back.

    Asks for ``size=full`` (remove.bg's default is a 0.25 MP preview, which would fail the size check) and a
    PNG with alpha; its 400 means it could not use the image (no foreground, unreadable), the only answer
    that does not fail over."""

    def fetch_cutout(self, image: PreparedInput, model: str | None, *, deadline: float,
                     idempotency_key: str | None) -> bytes:
        fields = {"size": "full", "format": "png", "channels": "rgba"}
        if model:
            fields["type"] = model
        response = self.http.request("POST", "/v1.0/removebg", deadline=deadline,
                                     headers={**self.key_header("X-Api-Key"), "Accept": "image/*"}, data=fields,
                                     files={"image_file": (image.filename, image.data, image.content_type)})
        raise_for_status(self.spec, response, client_errors=(400,))
        return response.body


class RembgProvider(RemoteProvider):
    """A ``rembg s`` server: ``POST /api/remove`` with the multipart field ``file`` and the form field
    ``model`` (rembg's session name, e.g. u2netp); it answers image/png. Its 422 is about our form (a model
    name it does not know), and it answers 500 for an image it cannot read, so every error fails over."""

    def fetch_cutout(self, image: PreparedInput, model: str | None, *, deadline: float,
                     idempotency_key: str | None) -> bytes:
        response = self.http.request("POST", "/api/remove", deadline=deadline, headers={"Accept": "image/png"},
                                     data={"model": model or "u2net"},
                                     files={"file": (image.filename, image.data, image.content_type)})
        raise_for_status(self.spec, response)
        return response.body


class LocalProvider(Provider):
    """This deployment's own workers: the task run's engine call, timed and wrapped like the others."""

    def __init__(self, spec: ProviderSpec, run: LocalRun | None) -> None:
        super().__init__(spec)
        self.run = run

    def remove(self, image: PreparedInput, options: CutoutOptions, *, deadline: float,
               idempotency_key: str | None = None) -> ProviderResult:
        if self.run is None:
            raise UpstreamUnavailable("local: this process runs no local engine", reason="not_configured")
        t0 = time.monotonic()
        cut = self.run(image.data, options)  # the engine's own errors (bad image, model missing) propagate
        return ProviderResult(cut.data, cut.content_type, cut.width, cut.height, provider=self.name,
                              upstream_cost=0.0, latency_s=time.monotonic() - t0,
                              foreground_box=getattr(cut, "foreground_box", None))


REMOTE_KINDS: dict[str, type[RemoteProvider]] = {
    "bgremover": BgRemoverProvider, "removebg": RemoveBgProvider, "rembg": RembgProvider}
