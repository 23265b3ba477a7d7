"""The bundled sample photo (used by `make run` and the docs): shipped in the package, reproducible from
tools/make_sample.py, and cut out correctly, since the renderer knows where its subject is."""
from __future__ import annotations

import importlib.util
import io
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rendered() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.spec_from_file_location("make_sample", ROOT / "tools" / "make_sample.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render()


def sample_bytes() -> bytes:
    return (resources.files("bgremover") / "assets" / "sample.jpg").read_bytes()


def test_sample_is_a_package_resource_and_a_plain_jpeg() -> None:
    im = Image.open(io.BytesIO(sample_bytes()))
    assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (960, 640))
    assert len(sample_bytes()) < 200_000


def test_sample_is_what_the_script_renders(rendered) -> None:
    rgb, _ = rendered
    shipped = np.asarray(Image.open(io.BytesIO(sample_bytes())).convert("RGB")).astype(int)
    assert shipped.shape == rgb.shape
    assert np.abs(shipped - rgb).mean() < 3  # JPEG's loss only


def test_sample_cut_out_keeps_the_vase_and_drops_the_wall(remover, rendered) -> None:
    _, truth = rendered
    out = np.asarray(Image.open(io.BytesIO(remover.remove(sample_bytes(), model="bg-remover-fast").data)))
    a = out[..., 3].astype(np.float32) / 255
    assert out.shape[:2] == truth.shape
    import cv2

    k = np.ones((25, 25), np.uint8)
    solid = cv2.erode((truth > 0.99).astype(np.uint8), k).astype(bool)
    empty = ~cv2.dilate((truth > 0.01).astype(np.uint8), k).astype(bool)
    # the thin grass stems are hard for u2netp and are not part of `solid` after erosion
    assert (a[solid] > 0.9).mean() > 0.97
    assert (a[empty] < 0.1).mean() > 0.97
