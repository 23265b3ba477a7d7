"""The operator's providers file: exactly the issue's format, checked at load, secrets never shown."""
from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from fetching.local_http import make_getaddrinfo

from bgremover.config import load_settings
from bgremover.providers import (
    ProviderConfigError,
    Router,
    load_providers,
    parse_providers,
)
from bgremover.providers.errors import UpstreamUnavailable
from providers.routing import FAST, options

ISSUE_EXAMPLE = """
# BGREMOVER_PROVIDERS=/etc/bgremover/providers.toml
[providers.gpu-box]
kind = "bgremover"            # local | bgremover | removebg | rembg
url = "http://127.0.0.1:9000"
api_key_env = "GPU_BOX_KEY"   # the secret is read from this environment variable
timeout_s = 60
max_concurrency = 4
cost_per_image = 0.5          # what the upstream charges us, in our credits

[routes]
bg-remover = ["gpu-box", "local"]
"""
SECRET = "bgr_live_0123456789abcdef-never-shown"
MODELS = ["bg-remover", "bg-remover-fast"]


@pytest.fixture
def issue_file(tmp_path: Path) -> Path:
    path = tmp_path / "providers.toml"
    path.write_text(ISSUE_EXAMPLE)
    return path


def test_the_issues_example_loads_with_its_path_from_the_typed_setting(issue_file: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BGREMOVER_PROVIDERS", str(issue_file))
    settings = load_settings()
    assert settings.providers == issue_file
    config = load_providers(settings.providers, fetch_allowlist=["127.0.0.1/32"], known_models=MODELS,
                            environ={"GPU_BOX_KEY": SECRET})
    gpu = config.providers["gpu-box"]
    assert (gpu.kind, gpu.timeout_s, gpu.max_concurrency, gpu.cost_per_image) == ("bgremover", 60, 4, 0.5)
    assert gpu.target is not None and gpu.target.url == "http://127.0.0.1:9000/"
    assert gpu.api_key is not None and gpu.api_key.reveal() == SECRET
    assert [p.name for p in config.route("bg-remover")] == ["gpu-box", "local"]
    assert [p.name for p in config.route("bg-remover-hq")] == ["local"], "a model without a route runs here"
    assert load_providers(None).route("bg-remover")[0].kind == "local"


def test_a_loopback_provider_needs_the_operators_allowlist(issue_file: Path) -> None:
    with pytest.raises(ProviderConfigError, match="loopback.*BGREMOVER_FETCH_ALLOW_NETWORKS"):
        load_providers(issue_file, environ={"GPU_BOX_KEY": SECRET})
    raw = {"providers": {"gpu-box": {"kind": "bgremover", "url": "http://127.0.0.1:9000", "api_key_env": "K",
                                     "allow_networks": ["127.0.0.1/32"]}}}
    assert parse_providers(raw, environ={"K": SECRET}).providers["gpu-box"].allow_networks, "or its own allowlist"


@pytest.mark.parametrize("url, why", [
    ("http://169.254.169.254/", "link-local"),
    ("http://0x7f.1:9000", "loopback"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://user:pw@example.com/", "credentials"),
    ("ftp://example.com/", "only http and https"),
    ("http://example.com/?key=1", "query"),
])
def test_provider_urls_go_through_the_image_fetchers_ssrf_policy(url: str, why: str) -> None:
    raw = {"providers": {"p": {"kind": "rembg", "url": url}}}
    with pytest.raises(ProviderConfigError, match=why):
        parse_providers(raw, getaddrinfo=make_getaddrinfo({"example.com": ["93.184.215.14"]}))


def test_a_name_that_rebinds_to_loopback_after_loading_is_refused_at_connection_time(photo: bytes) -> None:
    answers = {"up.example": ["93.184.215.14"]}  # public when the file loads ...
    resolve = make_getaddrinfo(answers)
    config = parse_providers({"providers": {"up": {"kind": "rembg", "url": "http://up.example:7000"}},
                              "routes": {FAST: ["up"]}}, getaddrinfo=resolve)
    answers["up.example"] = ["127.0.0.1"]  # ... loopback when the task runs: nothing connects
    router = Router(config, getaddrinfo=resolve)
    with pytest.raises(UpstreamUnavailable) as info:
        router.run_with_failover(router.route(FAST), photo, options())
    assert [(a.provider, a.reason) for a in info.value.attempts] == [("up", "forbidden")]


@pytest.mark.parametrize("table, routes, match", [
    ({"p": {"kind": "gpu"}}, {}, "kind must be one of"),
    ({"p": {"kind": "rembg", "url": "http://127.0.0.1:1", "timeout": 5}}, {}, "unknown key"),
    ({"p": {"kind": "removebg", "url": "http://127.0.0.1:1"}}, {}, "api_key_env is required"),
    ({"p": {"kind": "removebg", "url": "http://127.0.0.1:1", "api_key_env": "UNSET_VAR"}}, {}, "UNSET_VAR.*not set"),
    ({"p": {"kind": "rembg", "url": "http://127.0.0.1:1", "max_concurrency": 0}}, {}, "max_concurrency"),
    ({"p": {"kind": "rembg", "url": "http://127.0.0.1:1", "cost_per_image": -1}}, {}, "cost_per_image"),
    ({}, {"bg-remover": ["nobody"]}, "no provider named nobody"),
    ({}, {"no-such-model": ["local"]}, "no such model"),
    ({}, {"bg-remover": []}, "non-empty list"),
    ({"local": {"kind": "local", "url": "http://127.0.0.1:1"}}, {}, "takes no settings"),
    ({"p": {"kind": "rembg", "url": "http://127.0.0.1:1", "pinnable": "yes"}}, {}, "pinnable must be true or false"),
])
def test_mistakes_stop_the_load_with_a_clear_message(table: dict, routes: dict, match: str) -> None:
    with pytest.raises(ProviderConfigError, match=match):
        parse_providers({"providers": table, "routes": routes}, fetch_allowlist=["127.0.0.1/32"],
                        known_models=MODELS, environ={})


def test_the_secret_is_never_in_a_repr_str_pickle_error_or_log(issue_file: Path, photo: bytes,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = load_providers(issue_file, fetch_allowlist=["127.0.0.1/32"], environ={"GPU_BOX_KEY": SECRET})
    gpu = config.providers["gpu-box"]
    router = Router(config, fetch_allowlist=["127.0.0.1/32"])
    with pytest.raises(UpstreamUnavailable) as info:  # nothing listens on :9000: connect error, logged
        router.run_with_failover(router.route("bg-remover")[:1], photo, options())
    shown = [repr(config), str(config), repr(gpu), str(gpu), repr(gpu.api_key), str(gpu.api_key), str(info.value),
             repr(info.value.attempts), caplog.text, repr(router.health())]
    assert all(SECRET not in text for text in shown)
    assert "GPU_BOX_KEY" in repr(gpu.api_key), "it says where the key comes from"
    with pytest.raises(TypeError):
        pickle.dumps(gpu)


def test_a_provider_is_pinnable_only_when_the_operator_says_so() -> None:
    raw = {"providers": {"gpu-box": {"kind": "rembg", "url": "http://127.0.0.1:9000", "pinnable": True},
                         "spare": {"kind": "rembg", "url": "http://127.0.0.1:9001"}}}
    config = parse_providers(raw, fetch_allowlist=["127.0.0.1/32"])
    assert (config.providers["gpu-box"].pinnable, config.providers["spare"].pinnable) == (True, False)
    assert config.providers["local"].pinnable is False
    raw["providers"]["spare"]["pinnable"] = "yes"
    with pytest.raises(ProviderConfigError, match=r"\[providers.spare\]: pinnable must be true or false"):
        parse_providers(raw, fetch_allowlist=["127.0.0.1/32"])


def test_only_providers_marked_pinnable_can_be_pinned_and_local_may_be_one() -> None:
    config = parse_providers({"providers": {"gpu": {"kind": "rembg", "url": "http://127.0.0.1:1", "pinnable": True},
                                            "cheap": {"kind": "rembg", "url": "http://127.0.0.1:2"},
                                            "local": {"kind": "local", "pinnable": True}},
                              "routes": {FAST: ["cheap", "gpu", "local"]}}, fetch_allowlist=["127.0.0.1/32"])
    assert {n: s.pinnable for n, s in config.providers.items()} == {"gpu": True, "cheap": False, "local": True}
    assert [p.name for p in Router(config).route(FAST, pin="gpu")] == ["gpu"]


def test_the_api_process_reads_the_file_without_the_upstream_keys(issue_file: Path) -> None:
    config = load_providers(issue_file, fetch_allowlist=["127.0.0.1/32"], environ={}, with_keys=False)
    assert config.providers["gpu-box"].api_key is None  # no GPU_BOX_KEY here, and none needed
    with pytest.raises(ProviderConfigError, match="GPU_BOX_KEY"):
        load_providers(issue_file, fetch_allowlist=["127.0.0.1/32"], environ={})
