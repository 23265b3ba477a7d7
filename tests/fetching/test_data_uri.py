"""data: URIs decode to bytes under the same cap as fetched URLs, judged before decoding."""
from __future__ import annotations

import base64

import pytest

from bgremover.errors import ImageFetchFailed, ImageTooLarge
from bgremover.fetching.data_uri import decode_data_uri, is_data_uri

from .local_http import png_bytes

PNG = png_bytes()
B64 = base64.b64encode(PNG).decode()


def test_base64_data_uri_gives_bytes_and_media_type() -> None:
    assert decode_data_uri(f"data:image/png;base64,{B64}", max_bytes=10_000) == (PNG, "image/png")


def test_media_type_parameters_whitespace_and_missing_padding_are_tolerated() -> None:
    wrapped = "\n".join(B64[i:i + 76] for i in range(0, len(B64), 76)).rstrip("=")
    assert decode_data_uri(f"DATA:Image/PNG;name=cat.png;base64,{wrapped}", max_bytes=10_000) == (PNG, "image/png")


def test_url_safe_and_percent_encoded_base64_are_accepted() -> None:
    urlsafe = base64.urlsafe_b64encode(PNG).decode()
    percent = B64.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    assert decode_data_uri(f"data:image/png;base64,{urlsafe}", max_bytes=10_000)[0] == PNG
    assert decode_data_uri(f"data:image/png;base64,{percent}", max_bytes=10_000)[0] == PNG


def test_a_non_base64_data_uri_is_percent_decoded() -> None:
    assert decode_data_uri("data:,%89PNG%0D%0A", max_bytes=100) == (b"\x89PNG\r\n", None)


def test_an_oversized_data_uri_is_refused_from_its_length_alone() -> None:
    huge = "A" * 4_000_000  # would decode to 3 MB
    with pytest.raises(ImageTooLarge, match="limit is 1,000,000") as err:
        decode_data_uri(f"data:image/png;base64,{huge}", max_bytes=1_000_000)
    assert err.value.code == "image_too_large"
    with pytest.raises(ImageTooLarge):
        decode_data_uri("data:," + "%00" * 2000, max_bytes=1000)


@pytest.mark.parametrize("uri, says", [
    ("data:image/png;base64", "no ','"),
    ("data:image/png;base64,", "no data"),
    ("data:image/png;base64,iVBOR!!!", "not valid base64"),
    ("data:image/png;base64,iVBORw0KGgo=AAAA", "not valid base64"),
    ("http://example.com/a.png", "not a data: URI"),
])
def test_broken_data_uris_are_fetch_failures_with_a_clear_message(uri: str, says: str) -> None:
    with pytest.raises(ImageFetchFailed, match=says):
        decode_data_uri(uri, max_bytes=10_000)


def test_is_data_uri_is_case_insensitive() -> None:
    assert is_data_uri("DaTa:image/png;base64,xx") and not is_data_uri("https://example.com/data:")
