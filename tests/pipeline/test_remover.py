"""Remover.remove: the whole engine on generated photos (u2netp through the bg-remover-fast preset) and on
one real photo from the dev set when it is present. The scene is drawn here, so its answer is known."""
from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from bgremover import CutoutOptions
from bgremover.errors import CorruptImage, UnknownModel, UnsupportedImage

FAST = "bg-remover-fast"  # the u2netp preset


def scene(h: int = 240, w: int = 320, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A glossy blue ball in front of a warm, noisy wall; returns (RGB uint8, true alpha float)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = np.dstack([np.full_like(xx, 200), np.full_like(xx, 192), np.full_like(xx, 178)])
    wall = wall * (0.8 + 0.2 * (1 - yy / h))[..., None]
    wall += cv2.GaussianBlur(rng.normal(0, 14, (h, w, 3)).astype(np.float32), (0, 0), 1.2)
    cy, cx, r = h * 0.55, w * 0.5, h * 0.3
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    alpha = np.clip(r - d + 0.5, 0, 1)
    nz = np.sqrt(np.clip(1 - (d / r) ** 2, 0, 1))
    nx, ny = (xx - cx) / r, (yy - cy) / r
    shade = np.clip(-0.5 * nx - 0.5 * ny + 0.7 * nz, 0, 1)
    spec = np.clip(-0.4 * nx - 0.4 * ny + 0.82 * nz, 0, 1) ** 40
    ball = np.array([30, 80, 200], np.float32) * (0.25 + 0.85 * shade)[..., None] + 230 * spec[..., None]
    img = wall * (1 - alpha[..., None]) + ball * alpha[..., None]
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), alpha


def as_bytes(pixels: np.ndarray, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt, **kw)
    return buf.getvalue()


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def regions(alpha: np.ndarray, band: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Pixels surely inside the subject and surely background: the true matte shrunk / grown by a band."""
    k = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
    solid = (alpha > 0.99).astype(np.uint8)
    return cv2.erode(solid, k).astype(bool), ~cv2.dilate((alpha > 0).astype(np.uint8), k).astype(bool)


@pytest.fixture(scope="module")
def photo() -> tuple[np.ndarray, np.ndarray]:
    return scene()


@pytest.fixture(scope="module")
def png_cutout(remover, photo) -> np.ndarray:
    rgb, _ = photo
    return np.asarray(opened(remover.remove(as_bytes(rgb, "JPEG", quality=95), model=FAST).data))


def test_cutout_keeps_the_subject_and_drops_the_background(png_cutout, photo) -> None:
    rgb, truth = photo
    assert png_cutout.shape == (240, 320, 4) and png_cutout.dtype == np.uint8  # same size as the input
    inside, outside = regions(truth)
    a = png_cutout[..., 3]
    assert (a[inside] >= 230).mean() > 0.99
    assert (a[outside] <= 25).mean() > 0.99
    assert a.min() == 0 and a.max() == 255
    colour_error = np.abs(png_cutout[inside][:, :3].astype(int) - rgb[inside].astype(int)).mean()
    assert colour_error < 10  # the subject keeps its own colours


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_every_input_format_gives_the_same_size(remover, photo, fmt) -> None:
    rgb, _ = photo
    cut = remover.remove(as_bytes(rgb, fmt), model=FAST)
    im = opened(cut.data)
    assert (im.format, im.mode, im.size) == ("PNG", "RGBA", (320, 240))
    assert (cut.width, cut.height, cut.content_type) == (320, 240, "image/png")


def test_lossless_webp_has_the_same_matte_as_png(remover, photo, png_cutout) -> None:
    cut = remover.remove(as_bytes(photo[0], "JPEG", quality=95), model=FAST, format="webp")
    im = opened(cut.data)
    assert (im.format, im.mode, cut.content_type) == ("WEBP", "RGBA", "image/webp")
    assert (np.asarray(im)[..., 3] == png_cutout[..., 3]).all()


def test_lossy_webp_keeps_the_matte_and_is_much_smaller(remover, photo, png_cutout) -> None:
    data = as_bytes(photo[0], "JPEG", quality=95)
    lossy = remover.remove(data, model=FAST, format="webp", lossless=False, quality=80)
    out = np.asarray(opened(lossy.data))
    assert (out[..., 3] == png_cutout[..., 3]).all()
    visible = png_cutout[..., 3] == 255
    assert np.abs(out[visible][:, :3].astype(int) - png_cutout[visible][:, :3]).mean() < 8
    assert len(lossy.data) < len(remover.remove(data, model=FAST).data) / 2


def test_crop_fits_the_subject_and_the_margin_adds_around_it(remover, photo) -> None:
    data = as_bytes(photo[0])
    ys, xs = np.nonzero(photo[1] > 0.5)
    box_h, box_w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1  # 144 x 144
    tight = opened(remover.remove(data, model=FAST, crop=True).data)
    assert abs(tight.height - box_h) <= 12 and abs(tight.width - box_w) <= 12
    wide = opened(remover.remove(data, model=FAST, crop=True, crop_margin=10).data)
    assert (wide.width, wide.height) == (tight.width + 20, tight.height + 20)


@pytest.mark.parametrize("colour", ["#00ff00", "lime"])
def test_background_colour_replaces_the_background(remover, photo, colour) -> None:
    rgb, truth = photo
    im = opened(remover.remove(as_bytes(rgb), model=FAST, bg_color=colour).data)
    assert im.mode == "RGB" and im.size == (320, 240)
    out = np.asarray(im).astype(int)
    inside, outside = regions(truth)
    assert np.abs(out[outside] - [0, 255, 0]).max(axis=1).mean() < 10
    assert np.abs(out[inside] - rgb[inside]).mean() < 10


def test_alpha_only_is_the_matte_as_greyscale(remover, photo, png_cutout) -> None:
    im = opened(remover.remove(as_bytes(photo[0], "JPEG", quality=95), model=FAST, channels="alpha").data)
    assert im.mode == "L" and im.size == (320, 240)
    assert (np.asarray(im) == png_cutout[..., 3]).all()


def test_transparency_of_the_input_is_respected(remover, photo) -> None:
    rgb, truth = photo
    alpha = np.full(truth.shape, 255, np.uint8)
    alpha[:, :160] = 0  # the left half of the ball was already cut away
    out = np.asarray(opened(remover.remove(as_bytes(np.dstack([rgb, alpha])), model=FAST).data))
    assert (out[:, :160, 3] == 0).all()
    inside, _ = regions(truth)
    assert (out[:, 170:, 3][inside[:, 170:]] >= 230).mean() > 0.99


@pytest.mark.parametrize("pixels", [np.full((1, 1, 3), 128, np.uint8), np.full((7, 300, 3), 40, np.uint8)],
                         ids=["1x1", "7x300"])
def test_tiny_and_thin_images_work(remover, pixels) -> None:
    im = opened(remover.remove(as_bytes(pixels), model=FAST).data)
    assert im.size == (pixels.shape[1], pixels.shape[0]) and im.mode == "RGBA"


def test_timings_and_model_are_reported(remover, photo) -> None:
    cut = remover.remove(as_bytes(photo[0]), CutoutOptions(model=FAST))
    assert cut.model == FAST
    assert {"decode", "predict", "refine", "compose", "encode"} <= set(cut.timings)
    assert all(v >= 0 for v in cut.timings.values())


def test_keyword_options_apply_on_top_of_an_options_object(remover, photo) -> None:
    cut = remover.remove(as_bytes(photo[0]), CutoutOptions(model=FAST, crop=True), format="webp")
    im = opened(cut.data)
    assert im.format == "WEBP" and im.size[0] < 320


@pytest.mark.parametrize("options,match", [
    ({"format": "gif"}, "format"), ({"channels": "rgb"}, "channels"), ({"crop_margin": -1}, "crop_margin"),
    ({"bg_color": "greenish"}, "not a colour"), ({"quality": 0}, "quality"),
])
def test_bad_options_are_refused_before_any_work(remover, options, match) -> None:
    with pytest.raises(ValueError, match=match):
        remover.remove(b"not even an image", model=FAST, **options)


def test_bad_input_and_unknown_model_are_typed_errors(remover, photo) -> None:
    with pytest.raises(UnsupportedImage):
        remover.remove(b"GIF89a" + b"\x00" * 32, model=FAST)
    data = as_bytes(photo[0], "JPEG")
    with pytest.raises(CorruptImage):
        remover.remove(data[: len(data) // 2], model=FAST)
    with pytest.raises(UnknownModel, match="bg-remover-fast"):
        remover.remove(data, model="no-such-model")


def test_a_real_photo_from_the_dev_set(remover, dev_set: Path) -> None:
    """A Weizmann horse: read from ../shared (never copied into the project), scored against its mask."""
    items = {it["name"]: it for it in json.loads((dev_set / "manifest.json").read_text())}
    name = "horse_231" if "horse_231" in items else next(n for n, it in items.items() if it["kind"] == "mask")
    photo_path = next((dev_set / "images").glob(f"{name}.*"))
    truth = np.asarray(Image.open(dev_set / "gt" / f"{name}.png").convert("L"), np.float32) / 255.0
    cut = remover.remove(photo_path.read_bytes(), model=FAST)
    out = np.asarray(opened(cut.data))
    assert out.shape[:2] == truth.shape
    assert np.abs(out[..., 3] / 255.0 - truth).mean() < 0.1  # u2netp scores about 0.03 here


def test_the_cutout_carries_the_subjects_box_whatever_hides_its_matte(remover, photo, png_cutout) -> None:
    """(top, left, width, height) of the matte above 5 %, in the output: the same for an opaque result, which
    stores no matte to measure it on."""
    data = as_bytes(photo[0], "JPEG", quality=95)
    ys, xs = np.nonzero(png_cutout[..., 3] > 0.05 * 255)
    measured = (ys.min(), xs.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    assert remover.remove(data, model=FAST).foreground_box == measured
    ys, xs = np.nonzero(photo[1] > 0.5)  # the drawn ball, 144 px across
    assert np.abs(np.subtract(measured, (ys.min(), xs.min(), 144, 144))).max() <= 12
    for opaque in ({"format": "jpg"}, {"bg_color": "lime"}, {"bg_image": as_bytes(photo[0][::-1])}):
        assert remover.remove(data, model=FAST, **opaque).foreground_box == measured, opaque
    cropped = remover.remove(data, model=FAST, crop=True, crop_margin=10, format="jpg")
    assert cropped.foreground_box == (10, 10, measured[2], measured[3])
    assert (cropped.width, cropped.height) == (measured[2] + 20, measured[3] + 20)
