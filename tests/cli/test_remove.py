"""`bgremover remove`: files, directories and stdin; what a user sees and the exit codes scripts rely on.

Runs the real command (typer's CliRunner in-process, and one real subprocess for the stdin pipe) with the
real u2netp model, on images generated here into tmp directories.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from bgremover.cli.main import app

FAST = ["--model", "bg-remover-fast"]  # the u2netp preset


@pytest.fixture(autouse=True)
def _u2netp(remover) -> None:
    """The `remover` fixture skips (or fails in CI) when u2netp is not fetched."""


def photo(seed: int = 0, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A dark disc on a light, noisy background."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full((h, w, 3), 215.0) + rng.normal(0, 8, (h, w, 3))
    disc = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (h / 3) ** 2
    img[disc] = (160, 40, 30)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def save(im: Image.Image, path: Path, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format=fmt)
    return path


def run(*args: str):
    return CliRunner().invoke(app, ["remove", *args])


def opened(path: Path) -> Image.Image:
    im = Image.open(path)
    im.load()
    return im


def test_one_file_writes_stem_dot_png_and_prints_its_path(tmp_path: Path) -> None:
    src = save(photo(), tmp_path / "in" / "holiday.photo.jpg")
    result = run(str(src), "-o", str(tmp_path / "out"), *FAST)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "holiday.photo.png"
    assert result.stdout.strip() == str(out)
    im = opened(out)
    assert (im.format, im.mode, im.size) == ("PNG", "RGBA", (160, 120))
    a = np.asarray(im)[..., 3]
    assert a[60, 80] > 200 and a[2, 2] < 50  # the disc kept, the corner gone


@pytest.mark.slow
def test_a_bad_file_is_reported_and_skipped_and_the_others_are_written(tmp_path: Path) -> None:
    src = tmp_path / "in"
    save(photo(1), src / "a.jpg")
    save(photo(2), src / "b.png")
    save(photo(3), src / "c.webp")
    (src / "fake.jpg").write_text("this is a text file with an image name")
    good = io.BytesIO()
    photo(4).save(good, format="PNG")
    (src / "cut.png").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    result = run(str(src), "-o", str(tmp_path / "out"), *FAST)
    assert result.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.png"]
    assert "fake.jpg" in result.stderr and "unsupported_image" in result.stderr
    assert "cut.png" in result.stderr and "corrupt_image" in result.stderr
    assert "3 written" in result.stderr and "2 failed" in result.stderr


def test_a_missing_input_is_reported_and_the_others_go_on(tmp_path: Path) -> None:
    src = save(photo(), tmp_path / "a.jpg")
    result = run(str(tmp_path / "nope.jpg"), str(src), "-o", str(tmp_path / "out"), *FAST)
    assert result.exit_code == 1
    assert "nope.jpg" in result.stderr and "no such file" in result.stderr
    assert (tmp_path / "out" / "a.png").is_file()


@pytest.mark.slow
def test_directories_recurse_only_with_r_and_keep_their_sub_folders(tmp_path: Path) -> None:
    src = tmp_path / "in"
    save(photo(1), src / "top.jpg")
    save(photo(2), src / "deeper" / "top.jpg")  # same name in a sub-folder: no overwrite
    (src / "notes.txt").write_text("ignored: not an image name")
    flat = run(str(src), "-o", str(tmp_path / "flat"), *FAST)
    assert flat.exit_code == 0, flat.output
    assert sorted(str(p.relative_to(tmp_path / "flat")) for p in (tmp_path / "flat").rglob("*.png")) == ["top.png"]
    deep = run(str(src), "-r", "-o", str(tmp_path / "deep"), *FAST)
    assert deep.exit_code == 0, deep.output
    assert sorted(str(p.relative_to(tmp_path / "deep")) for p in (tmp_path / "deep").rglob("*.png")) == [
        os.path.join("deeper", "top.png"), "top.png"]


def test_two_inputs_with_one_output_name_do_not_overwrite_each_other(tmp_path: Path) -> None:
    a = save(photo(1), tmp_path / "x.jpg")
    b = save(photo(2), tmp_path / "x.png")
    result = run(str(a), str(b), "-o", str(tmp_path / "out"), *FAST)
    assert result.exit_code == 1
    assert "would overwrite" in result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.png"]


@pytest.mark.slow
def test_output_options_webp_alpha_only_crop_and_colour(tmp_path: Path) -> None:
    src = save(photo(), tmp_path / "p.jpg")
    assert run(str(src), "-o", str(tmp_path / "w"), "--format", "webp", *FAST).exit_code == 0
    assert opened(tmp_path / "w" / "p.webp").format == "WEBP"
    assert run(str(src), "-o", str(tmp_path / "l"), "--format", "webp", "--lossy", "--quality", "70",
               *FAST).exit_code == 0
    assert opened(tmp_path / "l" / "p.webp").mode == "RGBA"
    assert run(str(src), "-o", str(tmp_path / "a"), "--alpha-only", *FAST).exit_code == 0
    assert opened(tmp_path / "a" / "p.png").mode == "L"
    assert run(str(src), "-o", str(tmp_path / "c"), "--crop", "--crop-margin", "4", *FAST).exit_code == 0
    cropped = opened(tmp_path / "c" / "p.png")
    assert cropped.width < 160 and cropped.height < 120
    assert run(str(src), "-o", str(tmp_path / "g"), "--bg-color", "white", *FAST).exit_code == 0
    on_white = opened(tmp_path / "g" / "p.png")
    assert on_white.mode == "RGB" and min(on_white.getpixel((1, 1))) > 240


def test_several_images_show_a_progress_bar(tmp_path: Path) -> None:
    for i in range(3):
        save(photo(i), tmp_path / "in" / f"{i}.jpg")
    result = run(str(tmp_path / "in"), "-o", str(tmp_path / "out"), *FAST)
    assert result.exit_code == 0
    assert "3/3" in result.stderr and "3 written" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["IN"], "--output-dir"),
    (["-", "-o", "OUT"], "stdout"),
    (["IN", "-o", "OUT", "--bg-color", "greenish"], "not a colour"),
    (["IN", "-o", "OUT", "--format", "gif"], "format"),
    (["IN", "-o", "OUT", "--lossy"], "--lossy"),
    (["-", "IN", "-o", "OUT"], "stdin"),
])
def test_usage_errors_exit_2_with_a_message(tmp_path: Path, args: list[str], message: str) -> None:
    src = save(photo(), tmp_path / "p.jpg")
    args = [str(src) if a == "IN" else str(tmp_path / "out") if a == "OUT" else a for a in args]
    result = run(*args, *FAST)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_model_exits_1_naming_the_available_ones(tmp_path: Path) -> None:
    src = save(photo(), tmp_path / "p.jpg")
    result = run(str(src), "-o", str(tmp_path / "out"), "--model", "nope")
    assert result.exit_code == 1
    assert "unsupported_model" in result.stderr and "bg-remover-fast" in result.stderr


@pytest.mark.slow
def test_stdin_to_stdout_through_a_real_pipe(tmp_path: Path) -> None:
    buf = io.BytesIO()
    photo().save(buf, format="JPEG")
    cmd = [sys.executable, "-m", "bgremover", "remove", "-", *FAST]
    done = subprocess.run(cmd, input=buf.getvalue(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    im = Image.open(io.BytesIO(done.stdout))
    assert (im.format, im.mode, im.size) == ("PNG", "RGBA", (160, 120))
    bad = subprocess.run(cmd, input=b"plain text", capture_output=True, timeout=120)
    assert bad.returncode == 1 and bad.stdout == b""
    assert b"unsupported_image" in bad.stderr
