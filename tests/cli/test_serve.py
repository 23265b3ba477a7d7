"""``bgremover serve`` says at start when the default model cannot run on this machine (its int8 copy not built,
say), instead of leaving the operator to find out from the first failed request."""
from __future__ import annotations

from web.service_process import ServiceProcess, embedded_env


def test_serve_warns_at_start_when_the_default_model_is_not_installed(tmp_path):
    data = tmp_path / "data"
    env = embedded_env(data, BGREMOVER_MODEL_DIR=str(tmp_path / "empty-models"))
    service = ServiceProcess("embedded", env, data, tmp_path / "serve.log", args=["--api-only"]).start()
    try:
        log = service.log_text()
    finally:
        service.stop()
    assert "the default model cannot run here" in log
    assert "model bg-remover is not installed on this endpoint (operator: bgremover models fetch u2net-int8)" in log


def test_serve_says_nothing_of_the_kind_when_the_default_is_installed(tmp_path, model_dir):
    data = tmp_path / "data"
    service = ServiceProcess("embedded", embedded_env(data, BGREMOVER_MODEL_DIR=str(model_dir)), data,
                             tmp_path / "serve.log", args=["--api-only"]).start()
    try:
        log = service.log_text()
    finally:
        service.stop()
    assert "serving on" in log and "the default model cannot run here" not in log
