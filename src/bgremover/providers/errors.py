"""What can go wrong with an upstream provider, typed by what the router should do next.

    ProviderError (BgRemoverError)
    ├── ProviderConfigError        provider_config_invalid: the operator's providers file is wrong (at load)
    ├── UpstreamUnavailable        upstream_unavailable: try the next provider (connect error, timeout, 5xx,
    │   │                          429, 402 out of credits, refused key, a result that fails validation)
    │   └── ProvidersExhausted     upstream_unavailable: every provider of the route failed; the task fails
    └── ClientInputError           the client's own image was refused: do not fail over (it would fail anywhere)

Messages are ours, never the upstream's text: an upstream's error body may hold anything (its own
internals, another customer's data, markup), so it is mapped to a reason and never echoed.
"""
from __future__ import annotations

from bgremover.errors import BgRemoverError, InvalidImage


class ProviderError(BgRemoverError):
    code = "upstream_error"


class ProviderConfigError(ProviderError):
    code = "provider_config_invalid"


class UpstreamUnavailable(ProviderError):
    """The provider could not serve this image now; another may. ``reason`` is one word for metrics."""

    code = "upstream_unavailable"

    def __init__(self, message: str, *, reason: str = "unavailable", retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_s = retry_after_s


class ProvidersExhausted(UpstreamUnavailable):
    def __init__(self, message: str, *, attempts: list[object]) -> None:
        super().__init__(message, reason="exhausted")
        self.attempts = attempts


class ClientInputError(ProviderError, InvalidImage):
    """The image itself was refused (by our own decoder before any upstream call, or by an upstream's 400/422).

    Keeps the code of the local error when there is one (corrupt_image, unsupported_image, image_too_large)."""

    code = "unsupported_image"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code
