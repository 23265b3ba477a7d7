"""A cut-out over a background photo, and the colour + matte ZIP, on plain arrays."""
from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image

from bgremover.imaging.background import cover, encode_color_alpha_zip, over_image, reencode_background


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def test_cover_fills_the_canvas_keeping_the_aspect_and_centring():
    wide = np.zeros((100, 400, 3), np.uint8)
    wide[:, 175:225] = 255  # a white band in the middle: 50 of the 400 columns
    out = cover(wide, 50, 50)
    assert out.shape == (50, 50, 3)
    assert out[25, 25].min() == 255 and out[25, 0].max() == 0 and out[25, 49].max() == 0  # halved, centred, cropped
    assert (out[25, :, 0] == 255).sum() in (24, 25, 26)  # the band: 50 columns halved
    same = np.ones((50, 50, 3), np.uint8)
    assert cover(same, 50, 50) is same


def test_over_image_blends_by_alpha():
    fg = np.full((20, 30, 3), 200, np.uint8)
    alpha = np.zeros((20, 30), np.float32)
    alpha[:, 15:] = 1.0
    alpha[:, 10] = 0.5
    bg = png(np.full((40, 60, 3), (0, 0, 100), np.uint8))
    out = over_image(fg, alpha, bg, max_bytes=10**6, max_pixels=10**6)
    assert out.shape == (20, 30, 3)
    assert tuple(out[0, 0]) == (0, 0, 100) and tuple(out[0, 20]) == (200, 200, 200)
    assert tuple(out[0, 10]) == (100, 100, 150)


def test_zip_holds_color_jpg_and_alpha_png_that_recombine():
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[..., 0] = 180
    alpha = np.zeros((32, 48), np.uint8)
    alpha[8:24, 8:40] = 255
    with zipfile.ZipFile(io.BytesIO(encode_color_alpha_zip(rgb, alpha))) as zf:
        color = Image.open(io.BytesIO(zf.read("color.jpg")))
        matte = Image.open(io.BytesIO(zf.read("alpha.png")))
        assert (color.format, color.mode, matte.format, matte.mode) == ("JPEG", "RGB", "PNG", "L")
        assert np.array_equal(np.asarray(matte), alpha)
        color.putalpha(matte)
        assert abs(int(np.asarray(color)[16, 20, 0]) - 180) <= 3


def test_a_background_is_stored_as_a_jpeg_no_larger_than_the_output_can_use():
    rgba = np.zeros((1000, 2000, 4), np.uint8)
    rgba[..., 2] = 200
    rgba[:, :1000, 3] = 255  # the right half transparent: flattened onto black, as over_image would show it
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, "PNG")
    out = Image.open(io.BytesIO(reencode_background(buf.getvalue(), max_bytes=10**7, max_pixels=10**7,
                                                    max_megapixels=0.5)))
    assert out.format == "JPEG" and out.size == (1000, 500)
    assert out.getpixel((10, 250))[2] > 190 and max(out.getpixel((990, 250))) < 10
