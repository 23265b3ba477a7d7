"""Upstream providers behind our model names: another bgremover, a remove.bg-compatible API, a ``rembg s``
server, or this deployment's own workers (``local``), with failover, caps, breakers and health.

``load_providers(settings.providers, ...)`` reads the operator's file; ``Router(config, local_run=...)``
holds the providers of one process; ``router.run_with_failover(router.route(model), image, options)`` returns
the validated result and who served it. See docs/providers.md.
"""
from bgremover.providers.config import (
                                        LOCAL,
                                        ProvidersConfig,
                                        ProviderSpec,
                                        Secret,
                                        load_providers,
                                        parse_providers,
)
from bgremover.providers.errors import (
                                        ClientInputError,
                                        ProviderConfigError,
                                        ProviderError,
                                        ProvidersExhausted,
                                        UpstreamUnavailable,
)
from bgremover.providers.health import CircuitBreaker, HealthSnapshot, HealthStats
from bgremover.providers.metrics import ProviderMetrics
from bgremover.providers.result import PreparedInput, ProviderResult
from bgremover.providers.router import Attempt, Router, Served
from bgremover.providers.upstreams import Provider

__all__ = ["LOCAL", "Attempt", "CircuitBreaker", "ClientInputError", "HealthSnapshot", "HealthStats", "PreparedInput",
           "Provider", "ProviderConfigError", "ProviderError", "ProviderMetrics", "ProviderResult", "ProviderSpec",
           "ProvidersConfig", "ProvidersExhausted", "Router", "Secret", "Served", "UpstreamUnavailable",
           "load_providers", "parse_providers"]
