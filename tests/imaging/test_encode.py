"""encode_image: RGBA/RGB/grey pixels to PNG or WebP, fast, without keeping invisible colour."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremover.errors import ImageTooLarge
from bgremover.imaging.encode import drop_hidden_colour, encode_image

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "bgremover" / "assets" / "sample.jpg"


def cutout(h: int = 120, w: int = 160, seed: int = 1) -> np.ndarray:
    """Photo-like RGBA: noisy gradient colours everywhere, an elliptic subject with a soft edge."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.dstack([xx / w * 255, yy / h * 255, np.full_like(xx, 120)]) + rng.normal(0, 10, (h, w, 3))
    d = np.sqrt(((yy - h / 2) / (h * 0.35)) ** 2 + ((xx - w / 2) / (w * 0.3)) ** 2)
    alpha = np.clip((1.1 - d) * 5, 0, 1) * 255
    return np.dstack([np.clip(rgb, 0, 255), alpha]).astype(np.uint8)


def decode(data: bytes) -> tuple[str, str, np.ndarray]:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im.format, im.mode, np.asarray(im)


def test_png_rgba_round_trips_the_visible_pixels_exactly() -> None:
    px = cutout()
    fmt, mode, out = decode(encode_image(px, "png"))
    assert (fmt, mode, out.shape) == ("PNG", "RGBA", px.shape)
    assert (out[..., 3] == px[..., 3]).all()
    visible = px[..., 3] > 0
    assert (out[visible] == px[visible]).all()
    assert (out[~visible][:, :3] == 0).all()  # invisible colour is dropped


def test_png_keeps_hidden_colour_when_asked() -> None:
    px = cutout()
    _, _, out = decode(encode_image(px, "png", drop_hidden=False))
    assert (out == px).all()


def test_png_rgb_and_grey_round_trip_exactly() -> None:
    px = cutout()
    _, mode, rgb = decode(encode_image(px[..., :3], "png"))
    assert mode == "RGB" and (rgb == px[..., :3]).all()
    _, mode, grey = decode(encode_image(px[..., 3], "png"))
    assert mode == "L" and (grey == px[..., 3]).all()


def test_webp_lossless_round_trips_the_visible_pixels_exactly() -> None:
    px = cutout()
    fmt, mode, out = decode(encode_image(px, "webp"))
    assert (fmt, mode, out.shape) == ("WEBP", "RGBA", px.shape)
    visible = px[..., 3] > 0
    assert (out[..., 3] == px[..., 3]).all()
    assert (out[visible] == px[visible]).all()


def test_lossy_webp_keeps_alpha_exact_and_colour_close() -> None:
    px = cutout()
    data = encode_image(px, "webp", lossless=False, quality=90)
    fmt, mode, out = decode(data)
    assert (fmt, mode) == ("WEBP", "RGBA")
    assert (out[..., 3] == px[..., 3]).all()
    opaque = px[..., 3] == 255
    assert np.abs(out[opaque][:, :3].astype(int) - px[opaque][:, :3]).mean() < 8
    assert len(data) < len(encode_image(px, "webp")) / 2
    assert len(encode_image(px, "webp", lossless=False, quality=40)) < len(data)  # quality is the size lever


def test_drop_hidden_colour_zeroes_only_fully_transparent_pixels_and_copies() -> None:
    px = cutout()
    before = px.copy()
    out = drop_hidden_colour(px)
    assert (px == before).all()  # the input is untouched
    hidden = px[..., 3] == 0
    assert hidden.any() and (out[hidden] == 0).all()
    assert (out[~hidden] == px[~hidden]).all()


def photo_cutout_4mp() -> np.ndarray:
    """The bundled sample photo upscaled to ~4 MP with an elliptic soft matte: real photo statistics."""
    im = Image.open(SAMPLE).convert("RGB").resize((2448, 1632), Image.Resampling.BICUBIC)
    alpha = cutout(1632, 2448)[..., 3]
    return np.dstack([np.asarray(im), alpha])


@pytest.mark.slow
def test_default_png_is_no_bigger_than_pillows_default() -> None:
    """The fast settings must not bloat files: at 4 MP our PNG is no larger than Pillow's default PNG
    (what rembg writes). Speed is a claim for `bgremover bench` and tools/bench_encode.py, never a test."""
    px = photo_cutout_4mp()
    data = encode_image(px, "png")
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, format="PNG")
    assert len(data) <= len(buf.getvalue())


def test_webp_side_limit_is_a_typed_error() -> None:
    with pytest.raises(ImageTooLarge, match="PNG instead"):
        encode_image(np.zeros((1, 16384, 4), np.uint8), "webp")
    assert decode(encode_image(np.zeros((1, 16384, 4), np.uint8), "png"))[2].shape == (1, 16384, 4)


@pytest.mark.parametrize("kwargs,match", [
    ({"fmt": "gif"}, "unsupported output format"),
    ({"quality": 0}, "quality"),
    ({"png_level": 10}, "png_level"),
])
def test_bad_arguments_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        encode_image(cutout(), **kwargs)


@pytest.mark.parametrize("pixels", [np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4, 4), np.float32),
                                    np.zeros((4,), np.uint8)], ids=["two-channels", "float", "1d"])
def test_bad_pixel_arrays_are_refused(pixels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8 pixels"):
        encode_image(pixels)
