"""``data:`` URIs to bytes, under the same size cap as fetched URLs.

The size is judged from the encoded length before anything is decoded, so a 1 GB data URI
costs a length check, not a 750 MB allocation.
"""
from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

from bgremover.errors import ImageFetchFailed, ImageTooLarge

_WHITESPACE = re.compile(r"[\t\n\f\r ]+")


def is_data_uri(value: str) -> bool:
    return value[:5].lower() == "data:"


def decode_data_uri(uri: str, *, max_bytes: int) -> tuple[bytes, str | None]:
    """``data:[<media type>][;base64],<data>`` to ``(bytes, media type or None)``."""
    if not is_data_uri(uri):
        raise ImageFetchFailed("not a data: URI")
    header, comma, payload = uri[5:].partition(",")
    if not comma:
        raise ImageFetchFailed("the data: URI has no ',' before its data")
    params = [p.strip() for p in header.split(";")]
    is_base64 = len(params) > 1 and params[-1].lower() == "base64"
    media_type = params[0].lower() or None
    if is_base64:
        data = _decode_base64(payload, max_bytes)
    else:
        if len(payload) > 3 * max_bytes + 3:  # '%XX' is the longest spelling of one byte
            raise ImageTooLarge(f"the data: URI holds more than {max_bytes:,} bytes")
        data = unquote_to_bytes(payload)
    if not data:
        raise ImageFetchFailed("the data: URI holds no data")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"the data: URI holds {len(data):,} bytes; the limit is {max_bytes:,}")
    return data, media_type


def _decode_base64(payload: str, max_bytes: int) -> bytes:
    if "%" in payload:  # some clients percent-encode '+', '/' and '='
        payload = unquote_to_bytes(payload).decode("ascii", "replace")
    payload = _WHITESPACE.sub("", payload).rstrip("=")
    if len(payload) * 3 // 4 > max_bytes:
        raise ImageTooLarge(f"the data: URI holds about {len(payload) * 3 // 4:,} bytes; the limit is {max_bytes:,}")
    padded = payload + "=" * (-len(payload) % 4)
    try:
        if "-" in padded or "_" in padded:
            return base64.b64decode(padded, altchars=b"-_", validate=True)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ImageFetchFailed("the data: URI is not valid base64") from None
