"""Each remove.bg parameter on real photos, through ``POST /v1.0/removebg``: output size, format and alpha checked.

Sizes: the sample is 960 x 640 (0.61 MP); ``large_sample`` is 2400 x 1600 (3.84 MP).
"""
from __future__ import annotations

import base64

import numpy as np
import pytest

from web.removebg.conftest import alpha_of, large_sample, open_image, post, sample_bytes, solid, two_vases, unzip

pytestmark = pytest.mark.slow


def cut(svc, acc, photo: bytes | None = None, **fields: str):
    r = post(svc, acc, files={"image_file": ("photo.jpg", photo or sample_bytes(), "image/jpeg")}, data=fields)
    assert r.status_code == 200, r.text
    return r


def box(r) -> tuple[int, int, int, int]:
    return tuple(int(r.headers[f"x-foreground-{n}"]) for n in ("top", "left", "width", "height"))


@pytest.mark.parametrize(("size", "expected"), [("preview", (612, 408)), ("medium", (1500, 1000)),
                                                ("hd", (2400, 1600))])
def test_size_caps_the_output_resolution(removebg_service, account, size, expected):
    r = cut(removebg_service, account, large_sample(), size=size)
    im = open_image(r.content)
    assert im.size == expected and im.mode == "RGBA"
    assert (r.headers["x-width"], r.headers["x-height"]) == (str(expected[0]), str(expected[1]))


def test_size_full_keeps_the_photo_and_never_enlarges(removebg_service, account):
    assert open_image(cut(removebg_service, account, size="full").content).size == (960, 640)


def test_formats_png_webp_jpg_auto(removebg_service, account):
    for fmt, pil_format, mode in (("png", "PNG", "RGBA"), ("webp", "WEBP", "RGBA"), ("jpg", "JPEG", "RGB"),
                                  ("auto", "PNG", "RGBA")):
        r = cut(removebg_service, account, format=fmt)
        im = open_image(r.content)
        assert (im.format, im.mode, im.size) == (pil_format, mode, (612, 408)), fmt
        if mode == "RGB":  # JPEG has no alpha: the background is white
            assert min(im.getpixel((3, 3))) >= 250
    r = cut(removebg_service, account, format="auto", bg_color="green")
    assert open_image(r.content).format == "JPEG" and r.headers["content-type"] == "image/jpeg"


def test_zip_unpacks_to_color_jpg_and_alpha_png_that_recombine_to_the_png(removebg_service, account):
    png = open_image(cut(removebg_service, account, format="png").content)
    r = cut(removebg_service, account, format="zip")
    assert r.headers["content-type"] == "application/zip"
    color, alpha = unzip(r.content)
    assert (color.format, color.mode, color.size) == ("JPEG", "RGB", (612, 408))
    assert (alpha.format, alpha.mode, alpha.size) == ("PNG", "L", (612, 408))
    assert np.array_equal(np.asarray(alpha), np.asarray(png.getchannel("A")))  # the same matte, exactly
    recombined = color.copy()
    recombined.putalpha(alpha)
    seen = np.asarray(alpha) > 128
    diff = np.abs(np.asarray(recombined, np.int16)[..., :3] - np.asarray(png, np.int16)[..., :3])[seen]
    assert diff.mean() < 3  # the colour, within JPEG's loss, where the subject is


def test_channels_alpha_is_the_matte_alone(removebg_service, account):
    rgba = alpha_of(cut(removebg_service, account).content)
    matte = open_image(cut(removebg_service, account, channels="alpha").content)
    assert matte.mode == "L" and np.array_equal(np.asarray(matte), rgba)


def test_bg_color_hex_name_and_translucent(removebg_service, account):
    im = open_image(cut(removebg_service, account, bg_color="81d4fa", format="png").content)
    assert im.mode == "RGB" and im.getpixel((2, 2)) == (0x81, 0xD4, 0xFA)
    im = open_image(cut(removebg_service, account, bg_color="81d4fa77", format="png").content)
    assert im.mode == "RGBA" and im.getpixel((2, 2)) == (0x81, 0xD4, 0xFA, 0x77)


def test_bg_image_url_and_bg_image_file_fill_the_background(removebg_service, account, photos):
    for fields, files in (({"bg_image_url": photos.url("blue.jpg")}, {}),
                          ({}, {"bg_image_file": ("bg.jpg", solid((230, 30, 30)), "image/jpeg")})):
        r = post(removebg_service, account, data={"format": "png", **fields},
                 files={"image_file": ("photo.jpg", sample_bytes(), "image/jpeg"), **files})
        assert r.status_code == 200, r.text
        im = open_image(r.content)
        assert im.mode == "RGB" and im.size == (612, 408)
        corner = np.asarray(im)[:20, :20].reshape(-1, 3).mean(axis=0)
        expected = (20, 40, 230) if fields else (230, 30, 30)
        assert np.abs(corner - expected).max() < 8, corner
        vase = np.asarray(im)[260, 306]  # the vase's body stays red-brown over either background
        assert vase[0] > vase[2]


def test_crop_and_crop_margin(removebg_service, account):
    tight = cut(removebg_service, account, crop="true")
    tw, th = open_image(tight.content).size
    assert tw < 400 and th < 350 and box(tight) [:2] == (0, 0)
    padded = cut(removebg_service, account, crop="true", crop_margin="30px")
    assert open_image(padded.content).size == (tw + 60, th + 60)
    assert box(padded)[:2] == (30, 30)
    relative = cut(removebg_service, account, crop="true", crop_margin="10% 0%")
    assert open_image(relative.content).size == (tw, th + 2 * round(0.1 * th))


def test_scale_and_position_place_the_subject_on_the_canvas(removebg_service, account):
    top, left, w, h = box(cut(removebg_service, account))
    scaled = cut(removebg_service, account, scale="50%")
    st, sl, sw, sh = box(scaled)
    assert open_image(scaled.content).size == (612, 408)
    assert abs(max(sw / 612, sh / 408) - 0.5) < 0.02  # fills half the canvas along its tighter side
    assert abs(sl + sw / 2 - 306) <= 2 and abs(st + sh / 2 - 204) <= 2  # scale implies position=center
    moved = cut(removebg_service, account, position="0% 100%")
    mt, ml, mw, mh = box(moved)
    assert (ml, mt + mh, mw, mh) == (0, 408, w, h)  # bottom-left corner, same size
    assert box(cut(removebg_service, account, position="original")) == (top, left, w, h)


def test_roi_picks_one_of_two_subjects(removebg_service, account):
    photo = two_vases()
    both = alpha_of(cut(removebg_service, account, photo, size="full").content)
    assert both[400, 240] > 200 and both[400, 720] > 200  # each vase's body is cut out
    left = alpha_of(cut(removebg_service, account, photo, size="full", roi="0% 0% 50% 100%").content)
    assert left[400, 240] > 200 and left[:, 480:].max() == 0  # only the left one
    right = alpha_of(cut(removebg_service, account, photo, size="full", roi="480px 0px 960px 640px").content)
    assert right[400, 720] > 200 and right[:, :480].max() == 0


def test_semitransparency_false_leaves_no_partial_alpha(removebg_service, account):
    soft = alpha_of(cut(removebg_service, account).content)
    assert ((soft > 0) & (soft < 255)).sum() > 100
    hard = alpha_of(cut(removebg_service, account, semitransparency="false").content)
    assert set(np.unique(hard)) <= {0, 255}


def test_type_is_a_hint_echoed_in_x_type(removebg_service, account):
    assert cut(removebg_service, account, type="product").headers["x-type"] == "product"
    assert cut(removebg_service, account).headers["x-type"] == "other"  # auto: we do not classify
    assert "x-type" not in cut(removebg_service, account, type="car", type_level="none").headers


def test_json_answer_carries_result_b64_and_the_foreground_box(removebg_service, account):
    r = post(removebg_service, account, json={"image_file_b64": base64.b64encode(sample_bytes()).decode(),
                                              "crop": True, "crop_margin": "10px"},
             headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()["data"]
    im = open_image(base64.b64decode(data["result_b64"]))
    assert im.mode == "RGBA" and im.size == (int(r.headers["x-width"]), int(r.headers["x-height"]))
    assert (data["foreground_top"], data["foreground_left"]) == (10, 10)
    assert (data["foreground_width"], data["foreground_height"]) == (im.width - 20, im.height - 20)


@pytest.mark.parametrize("fields", [{"format": "jpg"}, {"bg_color": "81d4fa", "format": "png"},
                                    {"bg_color": "green", "format": "auto"}])
def test_opaque_results_carry_the_foreground_box_of_the_same_cutout(removebg_service, account, fields):
    png = box(cut(removebg_service, account, format="png"))
    assert png[2] > 0 and png[3] > 0  # the vase is found
    assert box(cut(removebg_service, account, **fields)) == png  # as remove.bg: always sent, the cut-out's box
    r = post(removebg_service, account, json={"image_file_b64": base64.b64encode(sample_bytes()).decode(), **fields},
             headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert open_image(base64.b64decode(data["result_b64"])).mode == "RGB"  # opaque indeed
    assert tuple(data[f"foreground_{n}"] for n in ("top", "left", "width", "height")) == png


def test_a_background_image_result_carries_the_foreground_box(removebg_service, account):
    png = box(cut(removebg_service, account, format="png"))
    r = post(removebg_service, account, data={"format": "jpg"},
             files={"image_file": ("photo.jpg", sample_bytes(), "image/jpeg"),
                    "bg_image_file": ("bg.jpg", solid((230, 30, 30)), "image/jpeg")})
    assert r.status_code == 200, r.text
    assert box(r) == png
