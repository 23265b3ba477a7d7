"""Real remove.bg clients, unmodified but for the endpoint, against ``bgremover serve``: the PyPI package
``removebg`` (its module constant ``API_ENDPOINT``) and the curl commands of remove.bg's own documentation.

The npm package ``remove.bg`` is not run: its endpoint is a ``const`` inside its module (``dist/index.js``:
``const API_ENDPOINT = "https://api.remove.bg/v1.0/removebg"``), so it cannot be pointed at another base URL
without patching its source (docs/compatibility.md).
"""
from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from web.removebg.conftest import ENDPOINT, balance, open_image, sample_bytes

pytestmark = pytest.mark.slow


@pytest.fixture
def client(removebg_service, account, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    removebg = pytest.importorskip("removebg.removebg")
    monkeypatch.setattr(removebg, "API_ENDPOINT", removebg_service.base_url + ENDPOINT)  # the one change
    return removebg.RemoveBg(account.key, str(tmp_path / "removebg-errors.log"))


def _assert_preview_cutout(path: Path) -> None:
    im = open_image(path.read_bytes())
    assert im.format == "PNG" and im.mode == "RGBA"
    assert im.size == (612, 408)  # size=regular: 0.25 MP, the photo's aspect kept
    lo, hi = im.getchannel("A").getextrema()
    assert lo == 0 and hi == 255


def test_pypi_removebg_from_a_file_a_url_and_base64(client, removebg_service, account, photos, tmp_path):
    photo = tmp_path / "vase.jpg"
    photo.write_bytes(sample_bytes())
    client.remove_background_from_img_file(str(photo))
    _assert_preview_cutout(Path(str(photo) + "_no_bg.png"))

    out = tmp_path / "from-url.png"
    client.remove_background_from_img_url(photos.url("sample.jpg"), new_file_name=str(out))
    _assert_preview_cutout(out)

    out = tmp_path / "from-b64.png"
    client.remove_background_from_base64_img(base64.b64encode(sample_bytes()).decode(), new_file_name=str(out),
                                             bg_color="81d4fa")
    im = open_image(out.read_bytes())
    assert im.format == "JPEG"  # format=auto: nothing is transparent on an opaque colour, so JPEG
    assert im.mode == "RGB" and im.size == (612, 408)
    assert max(abs(a - b) for a, b in zip(im.getpixel((2, 2)), (0x81, 0xD4, 0xFA))) <= 3
    assert balance(removebg_service, account)["credits"] == 47


def test_pypi_removebg_raises_on_a_bad_key(removebg_service, monkeypatch, tmp_path):
    removebg = pytest.importorskip("removebg.removebg")
    monkeypatch.setattr(removebg, "API_ENDPOINT", removebg_service.base_url + ENDPOINT)
    photo = tmp_path / "vase.jpg"
    photo.write_bytes(sample_bytes())
    with pytest.raises(requests.HTTPError) as err:
        removebg.RemoveBg("aio_not-a-key", str(tmp_path / "log")).remove_background_from_img_file(str(photo))
    assert err.value.response.status_code == 403
    assert err.value.response.json()["errors"][0]["title"] == "Invalid API Key"


@pytest.fixture
def curl() -> str:
    path = shutil.which("curl")
    if path is None:
        pytest.skip("curl is not installed")
    return path


def test_curl_as_remove_bg_documents_it_upload_and_url(curl, removebg_service, account, photos, tmp_path):
    """remove.bg's sample: ``curl -H 'X-API-Key: KEY' -F 'image_file=@/path/to/file.jpg' -F 'size=auto'
    -f https://api.remove.bg/v1.0/removebg -o no-bg.png``, and the same with ``-F 'image_url=URL'``."""
    (tmp_path / "file.jpg").write_bytes(sample_bytes())
    url = removebg_service.base_url + ENDPOINT
    subprocess.run([curl, "-s", "-H", f"X-API-Key: {account.key}", "-F", "image_file=@file.jpg", "-F", "size=auto",
                    "-f", url, "-o", "no-bg.png"], cwd=tmp_path, check=True, timeout=120)
    im = open_image((tmp_path / "no-bg.png").read_bytes())
    assert im.format == "PNG" and im.mode == "RGBA" and im.size == (960, 640)  # size=auto: full resolution

    subprocess.run([curl, "-s", "-H", f"X-API-Key: {account.key}", "-F", f"image_url={photos.url('sample.jpg')}",
                    "-F", "size=auto", "-f", url, "-o", "from-url.png"], cwd=tmp_path, check=True, timeout=120)
    assert open_image((tmp_path / "from-url.png").read_bytes()).size == (960, 640)


def test_curl_fails_with_a_bad_key_as_documented(curl, removebg_service, tmp_path):
    (tmp_path / "file.jpg").write_bytes(sample_bytes())
    done = subprocess.run([curl, "-s", "-H", "X-API-Key: wrong", "-F", "image_file=@file.jpg", "-F", "size=auto",
                           "-f", removebg_service.base_url + ENDPOINT, "-o", "no-bg.png"],
                          cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 22  # curl -f: the server answered an HTTP error (403)
    assert not (tmp_path / "no-bg.png").exists()
