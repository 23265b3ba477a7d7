"""A remove.bg-compatible upstream for the contract suite, backed by our real pipeline (u2netp).

It speaks the protocol as remove.bg documents it: ``POST /v1.0/removebg`` with the key in ``X-Api-Key`` and
the photo as the multipart field ``image_file``; ``size`` (default ``preview``, at most 0.25 MP), ``format``
and ``channels``; the image bytes back with ``X-Width``, ``X-Height``, ``X-Type`` and ``X-Credits-Charged``;
errors as ``{"errors": [{"title", "code"}]}`` with 400 (unusable image), 402 (out of credits), 403 (bad key)
and 429 (``Retry-After``). Swap it for this project's own ``POST /v1.0/removebg`` (issue 15) once merged.
"""
from __future__ import annotations

import io
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image

from bgremover.errors import InvalidImage
from bgremover.pipeline.remover import CutoutOptions, Remover

PREVIEW_PIXELS = 250_000


def _error(status: int, title: str, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"title": title, "code": code}]}, status_code=status, headers=headers)


def removebg_app(remover: Remover, api_key: str, credits: list[int]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1.0/removebg")
    async def removebg(request: Request) -> Response:
        if request.headers.get("x-api-key") != api_key:
            return _error(403, "Missing or invalid API Key", "auth_failed")
        if credits[0] <= 0:
            return _error(402, "Insufficient credits", "insufficient_credits")
        form = await request.form()
        upload = form.get("image_file")
        if upload is None or isinstance(upload, str):
            return _error(400, "No image given", "missing_source")
        data = await upload.read()
        channels = str(form.get("channels", "rgba"))
        try:
            cut = remover.remove(data, CutoutOptions(model="bg-remover-fast", format="png", channels=channels))
        except InvalidImage:
            return _error(400, "Failed to read the supplied image", "invalid_image")
        body = cut.data
        preview = str(form.get("size", "preview")) in ("preview", "small", "regular")
        if preview and cut.width * cut.height > PREVIEW_PIXELS:
            im = Image.open(io.BytesIO(body))
            scale = (PREVIEW_PIXELS / (cut.width * cut.height)) ** 0.5
            im = im.resize((max(1, int(cut.width * scale)), max(1, int(cut.height * scale))))
            buf = io.BytesIO()
            im.save(buf, "PNG")
            body = buf.getvalue()
        credits[0] -= 1
        w, h = Image.open(io.BytesIO(body)).size
        return Response(body, media_type="image/png", headers={
            "X-Width": str(w), "X-Height": str(h), "X-Type": "other", "X-Credits-Charged": "1"})

    return app


class RemoveBgServer:
    def __init__(self, remover: Remover, api_key: str, credits: int = 1000) -> None:
        self.credits = [credits]
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(removebg_app(remover, api_key, self.credits), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RemoveBgServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the remove.bg test server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
