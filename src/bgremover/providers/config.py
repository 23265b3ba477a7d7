"""The operator's providers file (``BGREMOVER_PROVIDERS``, TOML) to a checked :class:`ProvidersConfig`.

    [providers.gpu-box]
    kind = "bgremover"            # local | bgremover | removebg | rembg
    url = "http://127.0.0.1:9000"
    api_key_env = "GPU_BOX_KEY"   # the secret is read from this environment variable
    timeout_s = 60
    max_concurrency = 4
    cost_per_image = 0.5          # what the upstream charges us, in our credits
    allow_networks = ["127.0.0.1/32"]   # optional: this provider may sit on these private/loopback networks
    models = { bg-remover = "bg-remover-hq" }   # optional: the upstream's own model for one of ours
    pinnable = true               # optional: a request may ask for this provider ("provider": "gpu-box")

    [routes]
    bg-remover = ["gpu-box", "local"]

Everything is checked when the file loads (unknown keys, kinds, routes naming no provider, models we don't
have, a missing key variable, a URL the SSRF policy refuses), so a typo stops the service at start, not a
customer's task at 3 a.m. The key itself lives in a :class:`Secret`, which no repr, str or message shows.
"""
from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bgremover.errors import ForbiddenAddress, ImageFetchFailed
from bgremover.fetching import (
    AddressPolicy,
    TargetUrl,
    parse_allowlist,
    parse_target_url,
    resolve_target,
)
from bgremover.fetching.resolver import GetAddrInfo
from bgremover.providers.errors import ProviderConfigError

log = logging.getLogger(__name__)

KINDS = ("local", "bgremover", "removebg", "rembg")
LOCAL = "local"
_KEYS = {"kind", "url", "api_key_env", "timeout_s", "max_concurrency", "cost_per_image", "allow_networks", "models",
         "pinnable"}
_NEEDS_KEY = {"bgremover", "removebg"}
_DEFAULT_UPSTREAM_MODEL = {"rembg": "u2net"}  # bgremover: our own name; removebg: none (it has one model)


class Secret:
    """An upstream's API key: ``reveal()`` for the one header that carries it, nothing else ever shows it."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value, self.source = value, source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret(from ${self.source})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # no pickling into a queue message or a log record by accident
        raise TypeError("a provider secret cannot be pickled")


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    kind: str
    target: TargetUrl | None = None  # the checked base URL (None for local)
    api_key: Secret | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    max_concurrency: int = 4
    cost_per_image: float = 0.0
    allow_networks: tuple[Any, ...] = ()
    models: Mapping[str, str] = field(default_factory=dict)
    pinnable: bool = False  # the operator lets a request choose this provider (request field "provider")

    def upstream_model(self, model: str) -> str | None:
        if model in self.models:
            return self.models[model]
        return model if self.kind == "bgremover" else _DEFAULT_UPSTREAM_MODEL.get(self.kind)

    def policy(self, fetch_allowlist: Iterable[str]) -> AddressPolicy:
        """The image fetcher's SSRF policy, widened only by this provider's own allowlist."""
        return AddressPolicy((*parse_allowlist(fetch_allowlist), *self.allow_networks))


LOCAL_SPEC = ProviderSpec(name=LOCAL, kind=LOCAL, max_concurrency=1 << 30)


@dataclass(frozen=True)
class ProvidersConfig:
    providers: Mapping[str, ProviderSpec]
    routes: Mapping[str, tuple[str, ...]]

    def route(self, model: str) -> tuple[ProviderSpec, ...]:
        """The providers to try for ``model``, in order; a model without a route runs here (``local``)."""
        return tuple(self.providers[n] for n in self.routes.get(model, (LOCAL,)))


def load_providers(path: Path | None, *, fetch_allowlist: Iterable[str] = (), known_models: Iterable[str] | None = None,
                   environ: Mapping[str, str] | None = None, getaddrinfo: GetAddrInfo | None = None,
                   with_keys: bool = True) -> ProvidersConfig:
    """Read and check the providers file; no file (``None``): every model runs locally. ``with_keys=False``
    (the API process, which only reads names, routes and pins) leaves the upstream keys unread."""
    if path is None:
        return ProvidersConfig({LOCAL: LOCAL_SPEC}, {})
    try:
        raw = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ProviderConfigError(f"cannot read the providers file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProviderConfigError(f"the providers file {path} is not valid TOML: {exc}") from None
    return parse_providers(raw, fetch_allowlist=fetch_allowlist, known_models=known_models,
                           environ=os.environ if environ is None else environ, getaddrinfo=getaddrinfo,
                           with_keys=with_keys)


def parse_providers(raw: Mapping[str, Any], *, fetch_allowlist: Iterable[str] = (),
                    known_models: Iterable[str] | None = None, environ: Mapping[str, str] | None = None,
                    getaddrinfo: GetAddrInfo | None = None, with_keys: bool = True) -> ProvidersConfig:
    environ = os.environ if environ is None else environ
    unknown = set(raw) - {"providers", "routes"}
    if unknown:
        raise ProviderConfigError(f"unknown section(s) in the providers file: {', '.join(sorted(unknown))}")
    allow = list(fetch_allowlist)
    providers: dict[str, ProviderSpec] = {LOCAL: LOCAL_SPEC}
    for name, table in _table(raw, "providers").items():
        if not isinstance(table, Mapping):
            raise ProviderConfigError(f"[providers.{name}] must be a table")
        spec = _spec(name, table, environ if with_keys else None)
        if spec.target is not None:
            _check_address(spec, allow, getaddrinfo)
        providers[name] = spec
    routes = {model: _route(model, names, providers, known_models) for model, names in _table(raw, "routes").items()}
    return ProvidersConfig(providers, routes)


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ProviderConfigError(f"[{key}] must be a table")
    return value


def _spec(name: str, t: Mapping[str, Any], environ: Mapping[str, str] | None) -> ProviderSpec:
    where = f"[providers.{name}]"
    if unknown := set(t) - _KEYS:
        raise ProviderConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                                  f"known: {', '.join(sorted(_KEYS))}")
    kind = t.get("kind")
    if kind not in KINDS:
        raise ProviderConfigError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == LOCAL:
        if name != LOCAL or set(t) - {"kind", "pinnable"}:
            raise ProviderConfigError(f"{where}: this deployment's own workers are the provider named 'local', "
                                      "which takes no settings but pinnable")
        return replace(LOCAL_SPEC, pinnable=_flag(where, t, "pinnable"))
    url = t.get("url")
    if not isinstance(url, str):
        raise ProviderConfigError(f"{where}: url is required (http:// or https://)")
    try:
        target = parse_target_url(url.rstrip("/"))
    except ImageFetchFailed as exc:  # ForbiddenAddress too: credentials in the URL
        raise ProviderConfigError(f"{where}: url is not usable: {exc.message}") from None
    if "?" in target.target:
        raise ProviderConfigError(f"{where}: url must not carry a query; put secrets in api_key_env")
    return ProviderSpec(name=name, kind=str(kind), target=target, api_key=_secret(where, kind, t, environ),
                        timeout_s=_number(where, t, "timeout_s", 60.0, minimum=0.1),
                        max_concurrency=int(_number(where, t, "max_concurrency", 4, minimum=1, integer=True)),
                        cost_per_image=_number(where, t, "cost_per_image", 0.0, minimum=0.0),
                        allow_networks=_networks(where, t.get("allow_networks", [])), models=_models(where, t),
                        pinnable=_flag(where, t, "pinnable"))


def _flag(where: str, t: Mapping[str, Any], key: str) -> bool:
    value = t.get(key, False)
    if not isinstance(value, bool):
        raise ProviderConfigError(f"{where}: {key} must be true or false, not {value!r}")
    return value


def _secret(where: str, kind: str, t: Mapping[str, Any], environ: Mapping[str, str] | None) -> Secret | None:
    var = t.get("api_key_env")
    if var is None:
        if kind in _NEEDS_KEY:
            raise ProviderConfigError(f"{where}: api_key_env is required for kind {kind!r} (the name of the "
                                      "environment variable holding the upstream's key, never the key itself)")
        return None
    if not isinstance(var, str) or not var.isidentifier():
        raise ProviderConfigError(f"{where}: api_key_env must name an environment variable")
    if environ is None:
        return None
    value = environ.get(var, "")
    if not value.strip():
        raise ProviderConfigError(f"{where}: the environment variable {var} (api_key_env) is not set or empty")
    return Secret(value.strip(), var)


def _number(where: str, t: Mapping[str, Any], key: str, default: float, *, minimum: float,
            integer: bool = False) -> float:
    value = t.get(key, default)
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ProviderConfigError(f"{where}: {key} must be {kind} >= {minimum:g}, not {value!r}")
    return float(value)


def _networks(where: str, value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProviderConfigError(f"{where}: allow_networks must be a list of CIDRs, e.g. [\"10.1.0.0/16\"]")
    try:
        return parse_allowlist(value)
    except ValueError as exc:
        raise ProviderConfigError(f"{where}: {exc}") from None


def _models(where: str, t: Mapping[str, Any]) -> Mapping[str, str]:
    value = t.get("models", {})
    if not isinstance(value, Mapping) or not all(isinstance(v, str) and v for v in value.values()):
        raise ProviderConfigError(f"{where}: models must map our model names to the upstream's, e.g. "
                                  "{ bg-remover = \"u2net\" }")
    return dict(value)


def _check_address(spec: ProviderSpec, fetch_allowlist: list[str], getaddrinfo: GetAddrInfo | None) -> None:
    """The same SSRF policy as image URLs; checked again at every connection (DNS can change)."""
    assert spec.target is not None
    try:
        resolve_target(spec.target, spec.policy(fetch_allowlist), getaddrinfo=getaddrinfo)
    except ForbiddenAddress as exc:
        raise ProviderConfigError(
            f"[providers.{spec.name}]: {spec.target.redacted()} is refused: {exc.message}. Allow it with "
            "BGREMOVER_FETCH_ALLOW_NETWORKS or this provider's allow_networks") from None
    except ImageFetchFailed as exc:  # unresolvable now: a DNS blip must not stop the service from starting
        log.warning("provider %s: %s (checked again at each call)", spec.name, exc.message)


def _route(model: str, names: Any, providers: Mapping[str, ProviderSpec],
           known: Iterable[str] | None) -> tuple[str, ...]:
    where = f"[routes] {model}"
    if known is not None and model not in set(known):
        raise ProviderConfigError(f"{where}: no such model on this endpoint (see `bgremover models list`)")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ProviderConfigError(f"{where}: must be a non-empty list of provider names")
    if len(set(names)) != len(names):
        raise ProviderConfigError(f"{where}: names a provider twice")
    if missing := [n for n in names if n not in providers]:
        raise ProviderConfigError(f"{where}: no provider named {', '.join(missing)} (declare [providers.NAME])")
    return tuple(names)
