"""rembg as a peer: its own venv, our weights under its names, never a download."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from bgremover.benchmark import peer_rembg
from bgremover.benchmark.measure import measure_workload, ours
from bgremover.benchmark.report import ratios
from bgremover.benchmark.workload import build_workloads, generated_scene


def test_home_links_our_verified_weights_under_rembgs_names(model_dir: Path, tmp_path: Path) -> None:
    if not (model_dir / "u2netp.onnx").is_file():
        pytest.skip("u2netp is not fetched")
    home = peer_rembg.prepare_home(model_dir, tmp_path / "home", ["u2netp"])
    link = home / "u2netp.onnx"
    assert link.is_symlink() and link.resolve() == (model_dir / "u2netp.onnx").resolve()
    assert peer_rembg.prepare_home(model_dir, tmp_path / "home", ["u2netp"]) == home  # idempotent


def test_weights_rembg_would_reject_stop_the_benchmark_instead_of_a_download(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "u2netp.onnx").write_bytes(b"not the u2netp weights")
    with pytest.raises(peer_rembg.PeerUnavailable, match="md5") as exc:
        peer_rembg.prepare_home(models, tmp_path / "home", ["u2netp"])
    assert exc.value.code == "peer_unavailable"
    assert not (tmp_path / "home" / "u2netp.onnx").exists()


def test_missing_weights_say_how_to_fetch_them(tmp_path: Path) -> None:
    with pytest.raises(peer_rembg.PeerUnavailable, match="bgremover models fetch u2net"):
        peer_rembg.prepare_home(tmp_path, tmp_path / "home", ["u2net"])
    with pytest.raises(peer_rembg.PeerUnavailable, match="not supported"):
        peer_rembg.prepare_home(tmp_path, tmp_path / "home", ["sam"])


def test_rembg_gets_our_home_and_keeps_its_checksum_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODEL_CHECKSUM_DISABLED", "1")
    env = peer_rembg.rembg_env(tmp_path)
    assert env["U2NET_HOME"] == str(tmp_path) and "MODEL_CHECKSUM_DISABLED" not in env
    assert env["PATH"] == os.environ["PATH"]


def test_a_venv_counts_as_ready_only_with_its_interpreter_and_the_same_spec(tmp_path: Path) -> None:
    assert not peer_rembg.venv_ready(tmp_path)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_text("")
    (tmp_path / peer_rembg.MARKER).write_text("rembg==1.0\n")
    assert not peer_rembg.venv_ready(tmp_path)
    assert peer_rembg.venv_ready(tmp_path, "rembg==1.0")


@pytest.mark.slow
def test_rembg_and_ours_measured_in_the_same_run(model_dir: Path, tmp_path: Path) -> None:
    venv = peer_rembg.default_venv()
    if not peer_rembg.venv_ready(venv):
        pytest.skip(f"the rembg peer venv is not installed at {venv} (bgremover bench --vs-rembg creates it)")
    src = tmp_path / "src.png"
    Image.fromarray(generated_scene(240, 320)).save(src)
    (w,) = build_workloads([0.08], tmp_path, src)
    home = peer_rembg.prepare_home(model_dir, tmp_path / "home", ["u2netp"])
    peer = peer_rembg.engine("u2netp", peer_rembg.venv_python(venv), home)
    fast, rembg = measure_workload([ours("bg-remover-fast"), peer], w, repeat=1, save_dir=tmp_path)
    assert rembg.engine == "rembg-u2netp" and rembg.version and rembg.peak_rss_bytes > 50 * 2**20
    with Image.open(tmp_path / f"rembg-u2netp-{w.label}.png") as im:
        assert im.mode == "RGBA" and im.size == (w.width, w.height)
    q = ratios(fast, rembg)
    assert q["time"] > 0 and q["memory"] > 0
