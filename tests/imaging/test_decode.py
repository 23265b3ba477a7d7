"""decode_image: JPEG, PNG and WebP only, sniffed from the bytes, bounded before decoding, typed errors.

Every input is made here, in the test; nothing is read from disk.
"""
from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from bgremover.errors import CorruptImage, ImageTooLarge, InvalidImage, UnsupportedImage
from bgremover.imaging.decode import decode_image, sniff_format


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def photo(w: int = 96, h: int = 64) -> Image.Image:
    """A smooth gradient with some noise: compresses like a photo, not like a flat fill."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.dstack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) % 256]).astype(np.int16)
    arr += rng.integers(-12, 12, arr.shape).astype(np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows))
            + png_chunk(b"IEND", b""))


# ---------------------------------------------------------------- accepted inputs

@pytest.mark.parametrize("fmt,kw,tolerance", [("JPEG", {"quality": 95}, 8), ("PNG", {}, 0),
                                              ("WEBP", {"lossless": True}, 0), ("WEBP", {"quality": 90}, 8)])
def test_rgb_photo_decodes_to_its_pixels(fmt: str, kw: dict, tolerance: int) -> None:
    im = photo()
    out = decode_image(encode(im, fmt, **kw))
    assert out.format == fmt and out.rgb.shape == (64, 96, 3) and out.rgb.dtype == np.uint8
    assert out.alpha is None
    assert np.abs(out.rgb.astype(int) - np.asarray(im).astype(int)).mean() <= tolerance


def test_format_is_sniffed_from_bytes_not_names() -> None:
    assert sniff_format(encode(photo(), "PNG")) == "PNG"
    assert sniff_format(encode(photo(), "JPEG")) == "JPEG"
    assert sniff_format(encode(photo(), "WEBP")) == "WEBP"
    assert sniff_format(b"GIF89a....") is None


def test_cmyk_jpeg_becomes_rgb() -> None:
    im = Image.new("CMYK", (32, 16), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    out = decode_image(encode(im, "JPEG", quality=95))
    assert out.rgb.shape == (16, 32, 3)
    r, g, b = out.rgb.reshape(-1, 3).mean(axis=0)
    assert r > 240 and g < 15 and b < 15


def test_grey_jpeg_becomes_three_equal_channels() -> None:
    out = decode_image(encode(photo().convert("L"), "JPEG"))
    assert out.rgb.shape == (64, 96, 3)
    assert (out.rgb[..., 0] == out.rgb[..., 1]).all() and (out.rgb[..., 1] == out.rgb[..., 2]).all()


def test_16_bit_grey_png_is_scaled_to_8_bits() -> None:
    values = np.array([[0, 128 * 257, 65535]], dtype=">u2")
    rows = b"\x00" + values.tobytes()
    out = decode_image(raw_png(3, 1, 16, 0, rows))
    assert out.rgb[0, :, 0].tolist() == [0, 128, 255]
    assert out.alpha is None


def test_16_bit_rgba_png_keeps_its_alpha() -> None:
    px = np.array([[[65535, 0, 0, 65535], [0, 65535, 0, 0]]], dtype=">u2")  # opaque red, transparent green
    out = decode_image(raw_png(2, 1, 16, 6, b"\x00" + px.tobytes()))
    assert out.rgb[0, 0].tolist() == [255, 0, 0]
    assert out.alpha is not None and out.alpha[0].tolist() == [255, 0]


def test_palette_png_with_transparency_gives_alpha() -> None:
    im = Image.new("P", (4, 2), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.putpixel((3, 1), 1)
    out = decode_image(encode(im, "PNG", transparency=1))
    assert out.alpha is not None
    assert out.alpha[1, 3] == 0 and out.alpha[0, 0] == 255
    assert out.rgb[0, 0].tolist() == [255, 0, 0]


def test_palette_png_without_transparency_is_opaque_rgb() -> None:
    im = Image.new("P", (4, 2), 0)
    im.putpalette([10, 20, 30] + [0] * 765)
    out = decode_image(encode(im, "PNG"))
    assert out.alpha is None and out.rgb[0, 0].tolist() == [10, 20, 30]


def test_colour_key_transparency_in_rgb_png_is_respected() -> None:
    im = Image.new("RGB", (3, 1), (1, 2, 3))
    im.putpixel((0, 0), (200, 100, 50))
    out = decode_image(encode(im, "PNG", transparency=(1, 2, 3)))
    assert out.alpha is not None and out.alpha[0].tolist() == [255, 0, 0]


def test_la_png_gives_grey_rgb_and_alpha() -> None:
    im = Image.merge("LA", [Image.new("L", (5, 5), 90), Image.linear_gradient("L").resize((5, 5))])
    out = decode_image(encode(im, "PNG"))
    assert out.rgb[2, 2].tolist() == [90, 90, 90]
    assert out.alpha is not None and out.alpha[0, 0] < out.alpha[4, 0]


def test_fully_opaque_alpha_is_reported_as_no_alpha() -> None:
    out = decode_image(encode(photo().convert("RGBA"), "PNG"))
    assert out.alpha is None


def test_webp_with_alpha_keeps_it() -> None:
    im = photo().convert("RGBA")
    a = np.zeros((64, 96), np.uint8)
    a[:, 48:] = 255
    im.putalpha(Image.fromarray(a))
    out = decode_image(encode(im, "WEBP", lossless=True))
    assert out.alpha is not None
    assert (out.alpha[:, :48] == 0).all() and (out.alpha[:, 48:] == 255).all()


def test_exif_orientation_is_applied() -> None:
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = (255, 0, 0)  # left half red
    arr[:, 20:] = (0, 0, 255)  # right half blue
    im = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the stored left edge ends up on top
    out = decode_image(encode(im, "JPEG", quality=95, exif=exif.tobytes()))
    assert (out.width, out.height) == (20, 40)
    assert out.rgb[2, 10, 0] > 200 and out.rgb[2, 10, 2] < 50  # top is red
    assert out.rgb[37, 10, 2] > 200 and out.rgb[37, 10, 0] < 50  # bottom is blue


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_one_by_one_image_decodes(fmt: str) -> None:
    out = decode_image(encode(Image.new("RGB", (1, 1), (10, 200, 30)), fmt, **({"lossless": True} if fmt == "WEBP"
                                                                              else {})))
    assert out.rgb.shape == (1, 1, 3)
    assert np.abs(out.rgb[0, 0].astype(int) - [10, 200, 30]).max() < 12


def test_jpeg_with_trailing_bytes_after_the_image_is_accepted() -> None:
    data = encode(photo(), "JPEG") + b"\x00vendor trailer" * 8  # phones append such data after EOI
    assert decode_image(data).rgb.shape == (64, 96, 3)


# ---------------------------------------------------------------- size limits

def test_too_many_bytes_is_image_too_large() -> None:
    data = encode(photo(), "PNG")
    with pytest.raises(ImageTooLarge, match="bytes") as exc:
        decode_image(data, max_bytes=len(data) - 1)
    assert exc.value.code == "image_too_large"
    assert decode_image(data, max_bytes=len(data)).width == 96


def test_too_many_pixels_is_image_too_large() -> None:
    data = encode(photo(96, 64), "JPEG")
    with pytest.raises(ImageTooLarge, match="96x64"):
        decode_image(data, max_pixels=96 * 64 - 1)
    assert decode_image(data, max_pixels=96 * 64).height == 64


def huge_png() -> bytes:
    return raw_png(100_000, 100_000, 8, 2, b"\x00" * 16)  # declares 10 gigapixels, carries 16 bytes


def huge_webp() -> bytes:
    body = b"\x10\x00\x00\x00" + (16383).to_bytes(3, "little") + (16383).to_bytes(3, "little")
    vp8x = b"VP8X" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def huge_jpeg() -> bytes:
    data = bytearray(encode(photo(16, 16), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width in the frame header
    return bytes(data)


@pytest.mark.parametrize("make", [huge_png, huge_webp, huge_jpeg], ids=["png", "webp", "jpeg"])
def test_decompression_bomb_is_refused_from_its_header_without_allocating(make) -> None:
    data = make()
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLarge, match="pixels"):
            decode_image(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024  # a decoded buffer would be gigabytes


# ---------------------------------------------------------------- truncated and damaged

def test_pillow_truncated_images_switch_is_off_after_importing_bgremover() -> None:
    import bgremover.cli.main  # noqa: F401  (imports every command module)
    import bgremover.pipeline.remover  # noqa: F401

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


TRUNCATABLE = {
    "jpeg": lambda: encode(photo(160, 120), "JPEG", quality=90),
    "jpeg-progressive": lambda: encode(photo(160, 120), "JPEG", quality=90, progressive=True),
    "png": lambda: encode(photo(160, 120), "PNG"),
    "webp": lambda: encode(photo(160, 120), "WEBP", quality=80),
    "webp-lossless": lambda: encode(photo(160, 120), "WEBP", lossless=True),
}


@pytest.mark.parametrize("name", TRUNCATABLE)
@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_file_is_corrupt_image(name: str, fraction: float) -> None:
    data = TRUNCATABLE[name]()
    with pytest.raises(CorruptImage) as exc:
        decode_image(data[: int(len(data) * fraction)])
    assert exc.value.code == "corrupt_image" and "truncated" in exc.value.message


@pytest.mark.parametrize("name", ["jpeg", "jpeg-progressive"])
def test_truncated_jpeg_closed_with_an_end_marker_is_still_detected(name: str) -> None:
    """Pillow decodes these silently (missing rows come out grey); we must not."""
    data = TRUNCATABLE[name]()
    cut = data[: len(data) // 2] + b"\xff\xd9"
    if name == "jpeg":
        Image.open(io.BytesIO(cut)).load()  # the premise: Pillow alone does not notice
    with pytest.raises(CorruptImage, match="truncated"):
        decode_image(cut)


@pytest.mark.parametrize("name", TRUNCATABLE)
def test_truncation_is_detected_even_if_pillow_is_told_to_load_truncated_images(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # what some other library might do
    data = TRUNCATABLE[name]()
    with pytest.raises(CorruptImage):
        decode_image(data[: len(data) * 2 // 3])


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    b"\xff\xd8\xff\xe0" + b"garbage" * 20,
    b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8,
], ids=["png", "jpeg", "webp"])
def test_right_magic_with_garbage_is_corrupt_image(data: bytes) -> None:
    with pytest.raises(CorruptImage):
        decode_image(data)


def test_png_with_a_bad_checksum_is_corrupt_image() -> None:
    data = bytearray(encode(photo(), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 40] ^= 0xFF
    with pytest.raises(CorruptImage):
        decode_image(bytes(data))


# ---------------------------------------------------------------- refused formats

@pytest.mark.parametrize("data,named", [
    (encode(Image.new("P", (4, 4)), "GIF"), "GIF"),
    (encode(Image.new("RGB", (4, 4)), "TIFF"), "TIFF"),
    (encode(Image.new("RGB", (4, 4)), "BMP"), "BMP"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', "SVG"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4"/></svg>', "SVG"),
    (b"hello, this is not an image\n", "not a JPEG, PNG or WebP"),
    (b"", "empty"),
], ids=["gif", "tiff", "bmp", "svg-xml", "svg", "text", "empty"])
def test_other_formats_are_unsupported_image(data: bytes, named: str) -> None:
    with pytest.raises(UnsupportedImage, match=named) as exc:
        decode_image(data)
    assert exc.value.code == "unsupported_image"
    assert isinstance(exc.value, InvalidImage)
