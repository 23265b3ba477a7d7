"""Reading a remove.bg request: multipart (``image_file``, ``bg_image_file`` and fields), a urlencoded form or
JSON (``image_url``, ``image_file_b64`` and fields), each bounded before it is held in memory."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from bgremover.config import Settings
from bgremover.errors import ImageTooLarge
from bgremover.fetching import parse_target_url
from bgremover.service.errors import ValidationFailed, disk_full_as_storage_full
from bgremover.service.submission import checked_image_url
from bgremover.web.routes.remove_bg import read_body
from bgremover.web.removebg.params import SOURCES

FILE_PARTS = ("image_file", "bg_image_file")
UPLOAD_STORAGE_FULL = "the server has no space left to store this request; try again later"
MAX_FIELDS = 24


@dataclass(frozen=True)
class RemoveBgInput:
    fields: dict[str, Any]  # every parameter but the files and the image source
    image_url: str | None
    image_data: bytes | None  # an upload or decoded image_file_b64
    bg_image_data: bytes | None  # a bg_image_file upload


async def _multipart(request: Request, max_bytes: int) -> tuple[dict[str, Any], dict[str, bytes]]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > 2 * max_bytes + 65536:
        raise ImageTooLarge(f"the upload is over {max_bytes} bytes")
    with disk_full_as_storage_full(UPLOAD_STORAGE_FULL):
        form = await request.form(max_files=2, max_fields=MAX_FIELDS)
    fields: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for key, value in form.multi_items():
        if key in fields or key in files:
            raise ValidationFailed(f"{key}: given more than once")
        if isinstance(value, UploadFile):
            if key not in FILE_PARTS:
                raise ValidationFailed(f"{key}: a file was sent, but only image_file and bg_image_file take one")
            data = await value.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise ImageTooLarge(f"{key} is over {max_bytes} bytes")
            files[key] = data
        else:
            fields[key] = value
    return fields, files


async def read_input(request: Request, settings: Settings) -> RemoveBgInput:
    """The parameters and the image source; exactly one of image_file, image_file_b64 and image_url."""
    max_bytes = settings.max_image_bytes
    ctype = request.headers.get("content-type", "").lower()
    files: dict[str, bytes] = {}
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        fields, files = await _multipart(request, max_bytes)
    else:  # JSON, whatever the client called it (remove.bg's docs send application/json)
        body = await read_body(request, max_bytes * 4 // 3 + 65536)
        try:
            fields = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValidationFailed("the body is neither JSON nor a form; send multipart/form-data, "
                                   "application/x-www-form-urlencoded or application/json") from None
        if not isinstance(fields, dict):
            raise ValidationFailed("the JSON body must be an object")
    for key in FILE_PARTS:
        if key in fields and key not in files:
            raise ValidationFailed(f"{key}: send it as a file in a multipart/form-data body")
    fields = {k: v for k, v in fields.items() if v is not None and v != ""}  # empty form fields are absent
    given = [s for s in SOURCES if s in fields or s in files]
    if len(given) != 1:
        raise ValidationFailed("give exactly one of image_file, image_file_b64 and image_url")
    url, data = None, files.get("image_file")
    if "image_url" in fields:
        url = checked_image_url(_http_url(fields.pop("image_url"), "image_url"), settings)
    elif "image_file_b64" in fields:
        data = await run_in_threadpool(_b64, fields.pop("image_file_b64"), max_bytes)  # up to 33 MB of text
    if data is not None and not data:
        raise ValidationFailed("the image is empty")
    return RemoveBgInput(fields, url, data, files.get("bg_image_file"))


def _http_url(value: Any, name: str) -> str:
    if not isinstance(value, str) or urlsplit(value.strip()).scheme.lower() not in ("http", "https"):
        raise ValidationFailed(f"{name}: must be an http(s) URL")
    parse_target_url(value.strip())  # malformed or with credentials: refused now, nothing stored or charged
    return value.strip()


def checked_bg_url(value: str) -> str:
    return _http_url(value, "bg_image_url")


def _b64(value: Any, max_bytes: int) -> bytes:
    if not isinstance(value, str):
        raise ValidationFailed("image_file_b64: expected a base64 string")
    text = value.strip()
    if "," in text[:100] and text.startswith("data:"):  # a data: URI where plain base64 is expected: take it
        text = text.split(",", 1)[1]
    if len(text) > max_bytes * 4 // 3 + 8:
        raise ImageTooLarge(f"image_file_b64 decodes to more than {max_bytes} bytes")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("image_file_b64: not valid base64") from None
