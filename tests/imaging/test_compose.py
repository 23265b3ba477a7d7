"""compose_cutout: matte + photo to output pixels (RGBA, alpha only, cropped, on a colour)."""
from __future__ import annotations

import numpy as np
import pytest

from bgremover.imaging.compose import compose_cutout, parse_color, subject_box, to_alpha8


def scene(h: int = 40, w: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Photo of horizontal colour stripes; matte: an opaque box rows 10..19, cols 20..39, soft left edge."""
    fg = np.zeros((h, w, 3), np.uint8)
    fg[..., 0] = np.arange(w)[None, :] * 4
    fg[..., 1] = np.arange(h)[:, None] * 6
    fg[..., 2] = 200
    alpha = np.zeros((h, w), np.float32)
    alpha[10:20, 20:40] = 1.0
    alpha[10:20, 20] = 0.5
    return fg, alpha


@pytest.mark.parametrize("text,rgba", [
    ("#ff8000", (255, 128, 0, 255)), ("ff8000", (255, 128, 0, 255)), ("#F80", (255, 136, 0, 255)),
    ("#ff800080", (255, 128, 0, 128)), ("#f808", (255, 136, 0, 136)), (" #000000 ", (0, 0, 0, 255)),
    ("white", (255, 255, 255, 255)), ("RebeccaPurple", (102, 51, 153, 255)), ("rgb(0, 128, 255)", (0, 128, 255, 255)),
])
def test_parse_color_accepts_hex_forms_and_css_colour_names(text: str, rgba: tuple) -> None:
    assert parse_color(text) == rgba


@pytest.mark.parametrize("text", ["blurple", "#12345", "#gggggg", "", "#1234567", "rgb(1, 2)"])
def test_parse_color_rejects_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="not a colour.*CSS colour name"):
        parse_color(text)


def test_to_alpha8_rounds() -> None:
    assert to_alpha8(np.array([0.0, 0.999, 1.0, 0.5, 1.2, -0.1], np.float32)).tolist() == [0, 255, 255, 128, 255, 0]


def test_subject_box_is_the_box_around_the_subject_grown_by_the_margin() -> None:
    _, alpha = scene()
    assert subject_box(alpha) == (10, 20, 20, 40)
    assert subject_box(alpha, margin=5) == (5, 25, 15, 45)
    assert subject_box(alpha, margin=100) == (0, 40, 0, 60)  # clipped to the image


def test_subject_box_of_an_empty_matte_is_none() -> None:
    assert subject_box(np.zeros((8, 8), np.float32)) is None
    assert subject_box(np.full((8, 8), 0.01, np.float32)) is None  # below the noise threshold


def test_rgba_keeps_the_photo_colours_and_the_matte() -> None:
    fg, alpha = scene()
    out = compose_cutout(fg, alpha)
    assert out.shape == (40, 60, 4) and out.dtype == np.uint8
    assert (out[..., :3] == fg).all()
    assert out[15, 30, 3] == 255 and out[0, 0, 3] == 0 and out[15, 20, 3] == 128


def test_crop_cuts_to_the_subject_plus_margin() -> None:
    fg, alpha = scene()
    out = compose_cutout(fg, alpha, crop=True)
    assert out.shape == (10, 20, 4)
    assert (out[..., :3] == fg[10:20, 20:40]).all()
    out = compose_cutout(fg, alpha, crop=True, crop_margin=3)
    assert out.shape == (16, 26, 4)
    assert out[0, 0, 3] == 0 and out[3, 4, 3] == 255


def test_crop_of_an_empty_matte_leaves_the_image_whole() -> None:
    fg, _ = scene()
    out = compose_cutout(fg, np.zeros((40, 60), np.float32), crop=True)
    assert out.shape == (40, 60, 4) and (out[..., 3] == 0).all()


def test_alpha_only_returns_the_matte_and_ignores_the_colour() -> None:
    fg, alpha = scene()
    out = compose_cutout(fg, alpha, channels="alpha", bg_color="#ffffff")
    assert out.shape == (40, 60) and (out == to_alpha8(alpha)).all()
    assert compose_cutout(fg, alpha, channels="alpha", crop=True).shape == (10, 20)


def test_opaque_background_colour_gives_rgb_blended_at_the_edge() -> None:
    fg, alpha = scene()
    out = compose_cutout(fg, alpha, bg_color="#00ff00")
    assert out.shape == (40, 60, 3)
    assert out[0, 0].tolist() == [0, 255, 0]  # background
    assert (out[15, 30] == fg[15, 30]).all()  # subject
    expected = np.round((fg[15, 20].astype(float) + [0, 255, 0]) / 2)
    assert np.abs(out[15, 20] - expected).max() <= 1  # half-transparent edge: half and half


def test_translucent_background_colour_keeps_an_alpha_channel() -> None:
    fg, alpha = scene()
    out = compose_cutout(fg, alpha, bg_color="#0000ff80")
    assert out.shape == (40, 60, 4)
    assert out[0, 0].tolist() == [0, 0, 255, 128]  # only the colour
    assert (out[15, 30, :3] == fg[15, 30]).all() and out[15, 30, 3] == 255  # subject covers it
    # edge: alpha 0.5 over ~0.5 -> ~0.75, colour weighted ~2:1 towards the subject
    bg_a = 128 / 255
    out_a = 0.5 + bg_a * 0.5
    assert abs(int(out[15, 20, 3]) - out_a * 255) <= 0.5
    expected = (fg[15, 20].astype(float) * 0.5 + np.array([0, 0, 255]) * bg_a * 0.5) / out_a
    assert np.abs(out[15, 20, :3] - expected).max() <= 1


def test_background_colour_and_crop_together() -> None:
    fg, alpha = scene()
    out = compose_cutout(fg, alpha, crop=True, crop_margin=2, bg_color="#fff")
    assert out.shape == (14, 24, 3)
    assert out[0, 0].tolist() == [255, 255, 255]


def test_bad_options_are_refused() -> None:
    fg, alpha = scene()
    with pytest.raises(ValueError, match="channels"):
        compose_cutout(fg, alpha, channels="rgb")
    with pytest.raises(ValueError, match="differ"):
        compose_cutout(fg, alpha[:10])
    with pytest.raises(ValueError, match="not a colour"):
        compose_cutout(fg, alpha, bg_color="bleu")
