"""The README's Python examples run as written: the engine on a local photo, the client against a real server.

Model names become ``bg-remover-fast`` (u2netp, the test model), the server address becomes a real
``bgremover serve`` on a free port, and ``KEY`` is a key of a real account; nothing else is changed.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT
from web.images import photo_bytes
from web.service_process import ServiceProcess, embedded_env

pytestmark = pytest.mark.slow

FAST = "bg-remover-fast"
BLOCKS = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.S | re.M)


def _block(marker: str) -> str:
    found = [b for b in BLOCKS if marker in b]
    assert len(found) == 1, f"expected one README python block with {marker!r}, found {len(found)}"
    return re.sub(r'"bg-remover(-hq)?"', f'"{FAST}"', found[0])


@pytest.fixture
def in_photo_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remover) -> Path:
    (tmp_path / "photo.jpg").write_bytes(photo_bytes((160, 120)))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(mode="embedded", env=embedded_env(tmp_path / "data"), data_dir=tmp_path / "data",
                         log_path=tmp_path / "serve.log")
    try:
        yield svc.start()
    finally:
        svc.stop()


def test_every_python_block_is_run_by_a_test() -> None:
    assert len(BLOCKS) == 2 and all(_block(m) for m in ("from bgremover.client", "from bgremover import"))


def test_the_engine_example_writes_the_cut_outs_and_prints_a_short_cutout(in_photo_folder: Path, capsys) -> None:
    exec(compile(_block("from bgremover import"), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert re.fullmatch(r"Cutout\(image/webp \d+x\d+, [\d,]+ bytes, model='bg-remover-fast'\)\n", printed), printed
    assert Image.open(in_photo_folder / "cutout.png").size == (160, 120)
    cropped = Image.open(in_photo_folder / "cutout.webp")
    assert cropped.format == "WEBP" and cropped.mode == "RGB"


def test_the_client_example_gets_a_png_from_a_running_server(in_photo_folder: Path, server: ServiceProcess) -> None:
    key = server.new_account(5).key
    code = _block("from bgremover.client").replace("http://127.0.0.1:8000", server.base_url)
    namespace: dict[str, object] = {"KEY": key}
    exec(compile(code, "README.md", "exec"), namespace)
    png = namespace["png"]
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")
