"""Who produces a task's cut-out: one call, so that another producer (an upstream provider) can stand in for the
local pipeline without the task run (``service/processing.py``) changing.

With a providers file (``BGREMOVER_PROVIDERS``) the worker's producer is a :class:`RoutedPipeline`: the model's
route of providers (docs/providers.md), tried in order, with this process's own pipeline as ``local``.
"""
from __future__ import annotations

import logging
from typing import Protocol

from bgremover.config import Settings
from bgremover.imaging.compose import ForegroundBox
from bgremover.pipeline.remover import Cutout, CutoutOptions, Remover
from bgremover.providers import (
    LOCAL,
    ProviderResult,
    ProvidersExhausted,
    Router,
    load_providers,
)
from bgremover.providers.result import finished_here
from bgremover.service.provenance import Provenance

log = logging.getLogger(__name__)
LOCAL_ONLY_MESSAGE = ("this request's options (region, size cap, framing, background photo, or a JPEG/ZIP/auto format) "
                      "are applied only by this deployment's own workers, which do not serve this model; nothing was "
                      "charged")


class EncodedCutout(Protocol):
    """What the task run stores: the local ``Cutout`` and a provider's ``ProviderResult`` both are one."""

    @property
    def data(self) -> bytes: ...
    @property
    def content_type(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def foreground_box(self) -> ForegroundBox | None: ...


class CutoutProducer(Protocol):
    """Image bytes and the task's options in, the encoded cut-out out; errors are ``BgRemoverError`` with a code."""

    def produce(self, data: bytes, options: CutoutOptions) -> EncodedCutout: ...


class LocalPipeline:
    """The engine on this machine: one :class:`Remover` (one copy of each model) per process, built at first use."""

    def __init__(self, settings: Settings, remover: Remover | None = None) -> None:
        self.settings = settings
        self._remover = remover

    @property
    def remover(self) -> Remover:
        if self._remover is None:
            self._remover = Remover(self.settings)
        return self._remover

    def produce(self, data: bytes, options: CutoutOptions) -> Cutout:
        return self.remover.remove(data, options)


class RoutedPipeline:
    """The model's providers, in route order, with failover; ``local`` is this process's own pipeline.

    :meth:`serve` answers the checked result and its :class:`Provenance`; a failure's provenance is
    :func:`failure_provenance` of the error it raised. One per worker process (its breakers, caps and health).
    """

    def __init__(self, router: Router, local: LocalPipeline) -> None:
        self.router, self.local = router, local

    @classmethod
    def from_settings(cls, settings: Settings, local: LocalPipeline, known_models: list[str]) -> RoutedPipeline:
        config = load_providers(settings.providers, fetch_allowlist=settings.fetch_allowlist, known_models=known_models)
        log.info("providers: %s; routes: %s", ", ".join(sorted(config.providers)),
                 "; ".join(f"{m} -> {', '.join(r)}" for m, r in sorted(config.routes.items())) or "none")
        return cls(Router.from_settings(config, settings, local_run=local.produce), local)

    def produce(self, data: bytes, options: CutoutOptions) -> ProviderResult:
        return self.serve(data, options)[0]

    def serve(self, data: bytes, options: CutoutOptions, *, task_id: str | None = None,
              pin: str | None = None) -> tuple[ProviderResult, Provenance]:
        route = self.router.route(options.model or "", pin)
        if not finished_here(options):  # options an upstream's plain cut-out cannot carry: our pipeline only
            route = [p for p in route if p.name == LOCAL]
            if not route:
                raise ProvidersExhausted(LOCAL_ONLY_MESSAGE, attempts=[])
        served = self.router.run_with_failover(route, data, options, idempotency_key=task_id)
        return served.result, Provenance.of(served.attempts, served.provider, served.result.latency_s)


def failure_provenance(exc: BaseException) -> Provenance:
    """What the attempts of a failed routed run were (none: the client's image was refused before any call)."""
    return Provenance.of(getattr(exc, "attempts", ()))
