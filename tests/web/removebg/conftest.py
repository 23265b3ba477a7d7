"""A real ``bgremover serve`` speaking remove.bg's protocol, real photos, and helpers to read its answers.

The server's default model is ``bg-remover-fast`` (U²-Net-p's int8 copy): remove.bg's protocol has no model field,
so the endpoint's default is what runs. Photos: the packaged sample (a vase on a table), and images made from it here.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hardening.conftest import require_u2netp, start_service
from PIL import Image

from web.images import ImageServer
from web.service_process import Account, ServiceProcess

FAST = "bg-remover-fast"  # the product's fast preset (the hardening tests' default is its fp32 form)

SAMPLE = Path(__file__).resolve().parents[3] / "src" / "bgremover" / "assets" / "sample.jpg"
ENDPOINT = "/v1.0/removebg"


def jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=92)
    return buf.getvalue()


def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


def two_vases() -> bytes:
    """A real photo with two subjects: the sample's vase, twice, side by side (960 x 640)."""
    im = Image.open(SAMPLE)
    half = im.crop((240, 0, 720, 640))
    out = Image.new("RGB", (960, 640))
    out.paste(half, (0, 0))
    out.paste(half, (480, 0))
    return jpeg(out)


def large_sample() -> bytes:
    """The sample enlarged to 2400 x 1600 (3.84 MP), for the size parameter's caps."""
    return jpeg(Image.open(SAMPLE).resize((2400, 1600), Image.LANCZOS))


def solid(color: tuple[int, int, int], size: tuple[int, int] = (300, 200)) -> bytes:
    return jpeg(Image.new("RGB", size, color))


def open_image(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def alpha_of(data: bytes) -> np.ndarray:
    return np.asarray(open_image(data).getchannel("A"))


def unzip(data: bytes) -> tuple[Image.Image, Image.Image]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["alpha.png", "color.jpg"]
        return open_image(zf.read("color.jpg")), open_image(zf.read("alpha.png"))


def balance(svc: ServiceProcess, acc: Account) -> dict:
    with svc.client(acc) as c:
        r = c.get("/billing/credits")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="session")
def removebg_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    require_u2netp()
    svc = start_service(tmp_path_factory.mktemp("removebg"), workers=1, BGREMOVER_MAX_IMAGE_BYTES=str(8_000_000),
                        BGREMOVER_DEFAULT_MODEL=FAST)
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def api_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """No workers: tasks stay queued, so the synchronous wait runs out; 4 submissions and 4 reads a minute per key."""
    svc = start_service(tmp_path_factory.mktemp("removebg-api"), workers=0, BGREMOVER_REMOVEBG_WAIT_S="1",
                        BGREMOVER_DEFAULT_MODEL=FAST,
                        BGREMOVER_RATE_LIMIT_PER_MINUTE="4", BGREMOVER_READ_RATE_LIMIT_PER_MINUTE="4")
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def photos() -> Iterator[ImageServer]:
    with ImageServer() as srv:
        srv.files.update({"sample.jpg": sample_bytes(), "blue.jpg": solid((20, 40, 230)),
                          "notes.txt": b"not an image\n" * 10})
        yield srv


@pytest.fixture
def account(removebg_service: ServiceProcess) -> Account:
    return removebg_service.new_account(50)


def post(svc: ServiceProcess, acc: Account | None, *, files: dict | None = None, data: dict | None = None,
         json: dict | None = None, headers: dict | None = None):
    """One remove.bg call with the key in X-Api-Key, as remove.bg's clients send it."""
    import httpx

    h = {"X-Api-Key": acc.key} if acc else {}
    return httpx.post(svc.base_url + ENDPOINT, files=files, data=data, json=json, headers={**h, **(headers or {})},
                      timeout=120)
