"""The benchmark's photos: real pixels resized with Lanczos to the asked size, written outside the project."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremover.benchmark.workload import build_workloads, find_source_photo, generated_scene, size_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    p = tmp_path / "src.png"
    Image.fromarray(generated_scene(300, 450)).save(p)
    return p


def test_each_size_is_about_the_asked_megapixels_with_the_source_aspect(photo: Path, tmp_path: Path) -> None:
    loads = build_workloads([0.05, 0.2], tmp_path / "out", photo)
    assert [w.label for w in loads] == ["0.05MP", "0.2MP"]
    for w, mp in zip(loads, [0.05, 0.2], strict=True):
        assert abs(w.megapixels - mp) / mp < 0.01
        assert abs(w.width / w.height - 1.5) < 0.01
        with Image.open(w.path) as im:
            assert im.format == "JPEG" and im.size == (w.width, w.height)
        assert w.bytes == w.path.stat().st_size and w.source == str(photo)


def test_pixels_are_a_lanczos_resize_of_the_source(photo: Path, tmp_path: Path) -> None:
    (w,) = build_workloads([0.3], tmp_path / "out", photo)
    expected = np.asarray(Image.open(photo).convert("RGB").resize((w.width, w.height), Image.Resampling.LANCZOS),
                          dtype=np.float32)
    got = np.asarray(Image.open(w.path).convert("RGB"), dtype=np.float32)
    assert np.abs(got - expected).mean() < 4.0  # only JPEG's loss apart


def test_photos_are_written_where_asked_never_into_the_project(photo: Path, tmp_path: Path) -> None:
    loads = build_workloads([0.05], tmp_path / "out", photo)
    assert loads[0].path.parent == tmp_path / "out"
    assert ROOT not in loads[0].path.parents


def test_rejects_non_positive_sizes(photo: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        build_workloads([0.0], tmp_path, photo)


def test_size_for_keeps_aspect_and_area() -> None:
    w, h = size_for(4.0, 1280 / 853)
    assert abs(w * h - 4e6) / 4e6 < 0.001 and abs(w / h - 1280 / 853) < 0.001


def test_without_a_given_photo_a_real_one_is_found_when_the_eval_set_or_sample_exists() -> None:
    img, origin = find_source_photo()
    assert img.mode == "RGB" and img.width * img.height > 100_000
    assert origin.startswith(("eval set:", "bundled sample:", "generated scene"))
