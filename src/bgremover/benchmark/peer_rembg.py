"""rembg, the peer we are measured against, in its own venv and on our own copy of its weights.

rembg is not a dependency of bgremover: ``ensure_venv`` creates a separate venv with the ordinary
client (``python -m venv`` + ``pip install``) on first use. rembg looks for ``$U2NET_HOME/<model>.onnx``
and hands it to pooch with its expected md5; pooch downloads only when the file is missing or the
md5 differs. So before rembg starts we check the md5 ourselves and link our verified files, under the
names rembg expects, into a directory of their own: a mismatch stops the benchmark with a clear error
instead of a download, and the worker also refuses any non-loopback connection.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bgremover.benchmark.measure import EngineSpec
from bgremover.errors import BgRemoverError

# The rembg release BASELINES.md measured; `bgremover bench --rembg-spec` takes another.
REMBG_SPEC = "rembg[cpu,cli]==2.0.69"
# rembg model name -> (our catalog id, md5 rembg's session code verifies with pooch)
REMBG_MODELS = {
    "u2net": ("u2net", "60024c5c889badc19c04ad937298a77b"),
    "u2netp": ("u2netp", "8e83ca70e441ab06c318d82300c84806"),
}
MARKER = ".bgremover-installed"


class PeerUnavailable(BgRemoverError):
    """rembg could not be installed, or its weights are missing or differ from what it expects."""

    code = "peer_unavailable"


def default_venv() -> Path:
    return Path(os.path.expanduser("~/.cache/bgremover/rembg-venv"))


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def venv_ready(venv: Path, spec: str = REMBG_SPEC) -> bool:
    marker = venv / MARKER
    return venv_python(venv).is_file() and marker.is_file() and marker.read_text().strip() == spec


def ensure_venv(venv: Path, spec: str = REMBG_SPEC, *, say: Callable[[str], None] = print) -> Path:
    """The venv's interpreter, creating the venv and installing ``spec`` when that has not been done."""
    if venv_ready(venv, spec):
        return venv_python(venv)
    say(f"Installing the rembg peer ({spec}) into {venv} — once, takes a few minutes…")
    try:
        if not venv_python(venv).is_file():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv_python(venv)), "-m", "pip", "install", "--disable-pip-version-check",
                        "--progress-bar", "on", spec], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PeerUnavailable(
            f"could not install {spec} into {venv}: {exc}. Check that pip can reach the package index, "
            f"or install it yourself: {sys.executable} -m venv {venv} && {venv}/bin/pip install '{spec}'") from exc
    (venv / MARKER).write_text(spec + "\n")
    say(f"rembg peer ready in {venv}")
    return venv_python(venv)


def md5_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _verified_md5(path: Path, cache: Path) -> str:
    """md5 of ``path``, remembered by size and mtime so a 176 MB file is hashed once, not every run."""
    st = path.stat()
    key = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    if key not in known:
        known[key] = md5_file(path)
        cache.write_text(json.dumps(known, indent=1))
    return str(known[key])


def prepare_home(model_dir: Path, home: Path, models: list[str]) -> Path:
    """A ``U2NET_HOME`` holding links to our weights under rembg's names, each checked against rembg's md5."""
    home.mkdir(parents=True, exist_ok=True)
    for name in models:
        if name not in REMBG_MODELS:
            raise PeerUnavailable(f"rembg model {name!r} is not supported here; choose from {sorted(REMBG_MODELS)}")
        our_id, md5 = REMBG_MODELS[name]
        src = Path(model_dir) / f"{our_id}.onnx"
        if not src.is_file():
            raise PeerUnavailable(f"{src} is missing; run: bgremover models fetch {our_id}")
        got = _verified_md5(src, home / "md5-cache.json")
        if got != md5:
            raise PeerUnavailable(f"{src} has md5 {got}, rembg expects {md5} and would download its own copy; "
                                  f"re-fetch it: bgremover models fetch {our_id}")
        link = home / f"{name}.onnx"
        if link.is_symlink() or link.exists():
            if link.resolve() == src.resolve():
                continue
            link.unlink()
        link.symlink_to(src.resolve())
    return home


def rembg_env(home: Path) -> dict[str, str]:
    """The whole environment for rembg: our weights, and pooch's md5 check on (rembg turns it off when
    ``MODEL_CHECKSUM_DISABLED`` is set at all, and an unchecked file is not the one we measured)."""
    env = {k: v for k, v in os.environ.items() if k != "MODEL_CHECKSUM_DISABLED"}
    env["U2NET_HOME"] = str(home)
    return env


def engine(model: str, python: Path, home: Path) -> EngineSpec:
    return EngineSpec(f"rembg-{model}", "rembg", str(python), ("--model", model), env=rembg_env(home))


def cli_command(python: Path, model: str, src: Path, dst: Path) -> list[str]:
    """``rembg i`` as a user runs it, from the venv's own console script."""
    return [str(python.parent / "rembg"), "i", "-m", model, str(src), str(dst)]
