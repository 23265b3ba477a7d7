"""`bgremover api remove`: a batch through an endpoint (a local contract server), within its 429s."""
from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from contract_server import API_KEY, ContractServer, png_bytes
from PIL import Image
from typer.testing import CliRunner

from bgremover.cli.api import output_names
from bgremover.cli.main import app

runner = CliRunner()


@pytest.fixture
def server() -> Iterator[ContractServer]:
    s = ContractServer(process_s=0.15)
    yield s
    s.close()


def _run(server: ContractServer, *args: str, key: str = API_KEY):  # type: ignore[no-untyped-def]
    env = {"BGREMOVER_API_URL": server.base_url, "BGREMOVER_API_KEY": key}
    return runner.invoke(app, ["api", "remove", *args], env=env)


def _image(path: Path) -> tuple[str, tuple[int, int]]:
    with Image.open(path) as im:
        return im.mode, im.size


def test_a_batch_saves_every_good_input_reports_each_bad_one_and_exits_1(server: ContractServer,
                                                                         tmp_path: Path) -> None:
    server.max_in_flight, server.retry_after = 2, "1"  # concurrency 3 > 2 in flight: some answers are 429
    files = []
    for i, size in enumerate([(12, 8), (9, 9), (20, 5), (7, 11)]):
        files.append(tmp_path / f"photo{i}.png")
        files[-1].write_bytes(png_bytes(size))
    server.images_by_url["https://img.example/shop/shoe.png?w=200"] = png_bytes((16, 10))
    data_uri = "data:image/png;base64," + base64.b64encode(png_bytes((5, 6))).decode()
    out = tmp_path / "out"
    res = _run(server, *map(str, files), "https://img.example/shop/shoe.png?w=200", data_uri,
               "https://img.example/gone.png?token=SECRET123", str(tmp_path / "missing.png"),
               "-o", str(out), "--concurrency", "3")
    assert res.exit_code == 1, res.output
    saved = sorted(res.stdout.split())
    assert saved == sorted(str(out / n) for n in ["photo0.png", "photo1.png", "photo2.png", "photo3.png",
                                                  "shoe.png", "image-6.png"])
    assert _image(out / "photo2.png") == ("RGBA", (20, 5))
    assert _image(out / "shoe.png") == ("RGBA", (16, 10))
    assert "failed https://img.example/gone.png: image_fetch_failed" in res.stderr
    assert f"failed {tmp_path / 'missing.png'}: validation_error" in res.stderr
    assert "6 saved, 2 failed" in res.stderr
    assert "SECRET123" not in res.output and API_KEY not in res.output
    submissions = server.statuses("/api/v1/images/tools/remove-bg")
    assert 429 in submissions and submissions.count(200) == 7  # throttled, waited, and all got through
    assert not list(out.glob(".*.part"))


def test_an_all_good_batch_exits_0_and_writes_webp(server: ContractServer, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png_bytes((10, 4)))
    res = _run(server, str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--format", "webp", "-c", "2")
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(tmp_path / "out" / "a.webp")
    with Image.open(tmp_path / "out" / "a.webp") as im:
        assert (im.format, im.mode, im.size) == ("WEBP", "RGBA", (10, 4))
    assert server.submissions[-1]["output_format"] == "webp"


def test_a_wrong_key_fails_every_item_without_printing_the_key(server: ContractServer, tmp_path: Path) -> None:
    wrong = "aio_" + "z" * 40
    (tmp_path / "a.png").write_bytes(png_bytes())
    res = _run(server, str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), key=wrong)
    assert res.exit_code == 1
    assert "unauthorized" in res.stderr
    assert wrong not in res.output


def test_the_key_is_required_and_never_shown_in_help(server: ContractServer, tmp_path: Path) -> None:
    res = runner.invoke(app, ["api", "remove", "x.png", "-o", str(tmp_path)], env={"BGREMOVER_API_KEY": ""})
    assert res.exit_code == 2 and "--api-key" in res.output
    res = runner.invoke(app, ["api", "remove", "--help"], env={"BGREMOVER_API_KEY": API_KEY})
    assert res.exit_code == 0 and "BGREMOVER_API_KEY" in res.output and API_KEY not in res.output


def test_a_bad_format_is_a_usage_error(server: ContractServer, tmp_path: Path) -> None:
    res = _run(server, "x.png", "-o", str(tmp_path), "--format", "gif")
    assert res.exit_code == 2 and "png or webp" in res.output


def test_output_names_come_from_the_input_and_never_collide() -> None:
    assert output_names(["a/cat.jpg", "b/cat.png", "cat-2.webp", "https://x.example/p/Dog%20One.jpg?s=1",
                         "https://x.example/", "data:image/png;base64,AAAA", "../../etc/passwd"], "png") == [
        "cat.png", "cat-2.png", "cat-2-2.png", "Dog_One.png", "image-5.png", "image-6.png", "passwd.png"]


def test_the_saved_file_is_complete(server: ContractServer, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png_bytes((30, 20)))
    assert _run(server, str(tmp_path / "a.png"), "-o", str(tmp_path / "out")).exit_code == 0
    data = (tmp_path / "out" / "a.png").read_bytes()
    Image.open(io.BytesIO(data)).load()  # decodes to the last byte
