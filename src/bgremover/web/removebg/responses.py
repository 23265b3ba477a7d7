"""remove.bg's success answers: the image bytes with its headers, or ``{"data": {"result_b64", "foreground_*"}}``
when the client sends ``Accept: application/json``; and the account's balance in its shape."""
from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

import numpy as np
from fastapi import Response
from fastapi.responses import JSONResponse
from PIL import Image

from bgremover.imaging.background import ZIP_ALPHA, ZIP_CONTENT_TYPE
from bgremover.imaging.compose import ForegroundBox, foreground_box
from bgremover.service.tasks import TaskRecord

FILENAMES = {"image/png": "no-bg.png", "image/jpeg": "no-bg.jpg", "image/webp": "no-bg.webp",
             ZIP_CONTENT_TYPE: "no-bg.zip"}


def _alpha_of(data: bytes, content_type: str) -> np.ndarray | None:
    """The result's matte (uint8), or None when the result is opaque (a JPEG, a colour or image background)."""
    if content_type == ZIP_CONTENT_TYPE:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            data = zf.read(ZIP_ALPHA)
    with Image.open(io.BytesIO(data)) as im:
        if im.mode in ("RGBA", "LA", "PA"):
            return np.asarray(im.getchannel("A"))
        if im.mode == "L" and content_type != "image/jpeg":  # channels=alpha: the image is the matte
            return np.asarray(im)
    return None


def result_box(task: TaskRecord, data: bytes, content_type: str) -> ForegroundBox | None:
    """Where the subject is in the result: remove.bg's X-Foreground-Top/Left/Width/Height. The worker records it
    from the cut-out's matte; a task from before that (or a producer that did not) has it measured on the stored
    result, which an opaque result (no alpha) cannot answer: None."""
    if task.result_box:
        top, left, width, height = (int(v) for v in task.result_box.split(","))
        return top, left, width, height
    alpha = _alpha_of(data, content_type)
    return None if alpha is None else foreground_box(alpha)


def result_response(task: TaskRecord, data: bytes, *, type_hint: str | None, as_json: bool,
                    headers: dict[str, str]) -> Response:
    content_type = task.result_content_type or "application/octet-stream"
    box = result_box(task, data, content_type)
    out = {**headers, "X-Credits-Charged": str(task.credits_charged), "X-Width": str(task.result_width),
           "X-Height": str(task.result_height)}
    if type_hint:
        out["X-Type"] = type_hint
    names = ("top", "left", "width", "height")
    if box is not None:
        out.update({f"X-Foreground-{n.title()}": str(v) for n, v in zip(names, box)})
    if as_json:
        body: dict[str, Any] = {"result_b64": base64.b64encode(data).decode("ascii")}
        body.update({f"foreground_{n}": (box[i] if box else None) for i, n in enumerate(names)})
        return JSONResponse({"data": body}, headers=out)
    out["Content-Disposition"] = f'attachment; filename="{FILENAMES.get(content_type, "no-bg")}"'
    return Response(data, media_type=content_type, headers=out)


def account_body(credits: int) -> dict[str, Any]:
    """remove.bg's GET /v1.0/account: all our credits are pay-as-you-go; there are no free calls."""
    return {"data": {"attributes": {
        "credits": {"total": credits, "subscription": 0, "payg": credits, "enterprise": 0},
        "api": {"free_calls": 0, "sizes": "all"}}}}
