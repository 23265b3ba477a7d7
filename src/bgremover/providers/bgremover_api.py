"""Another bgremover as an upstream: its public API, as any client uses it.

Upload with ``wait`` (the answer is the finished task when it is quick), else poll ``GET /api/v1/tasks/{id}``
until it is final, then download ``/api/v1/tasks/{id}/result`` with the same key (never a URL the upstream
names: it could point anywhere). A task the upstream failed for the image's sake (corrupt, unsupported, too
large for it) is the client's error; any other failure fails over. Past the deadline the upstream task is
canceled when it is still queued (the upstream refunds it) and this provider counts as timed out.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bgremover.providers.errors import ClientInputError, UpstreamUnavailable
from bgremover.providers.result import PreparedInput
from bgremover.providers.transport import PinnedHttp, UpstreamResponse, raise_for_status

IMAGE_CODES = frozenset({"corrupt_image", "unsupported_image"})
MAX_WAIT_S = 60
POLL_S = (0.1, 0.2, 0.3, 0.5, 1.0)
FINAL = ("succeeded", "failed", "canceled")


def fetch_bgremover_cutout(http: PinnedHttp, image: PreparedInput, model: str | None, *, deadline: float,
                           headers: Mapping[str, str], idempotency_key: str | None) -> bytes:
    name = http.spec.name
    wait = max(0, min(MAX_WAIT_S, int(deadline - time.monotonic()) - 2))
    fields = {"output_format": "png", "channels": "rgba", "wait": str(wait)}
    if model:
        fields["model"] = model
    sent = {**headers, "Accept": "application/json"}
    if idempotency_key:
        sent["Idempotency-Key"] = idempotency_key
    response = http.request("POST", "/api/v1/images/tools/remove-bg", deadline=deadline, headers=sent, data=fields,
                            files={"image_file": (image.filename, image.data, image.content_type)})
    _raise_for_error(http, response)
    task = _task_json(name, response)
    polls = 0
    while task.get("status") not in FINAL:
        if time.monotonic() + POLL_S[min(polls, len(POLL_S) - 1)] >= deadline:
            _cancel(http, task["task_id"], headers, deadline)
            raise UpstreamUnavailable(f"{name}: the upstream task did not finish in time", reason="timeout")
        time.sleep(POLL_S[min(polls, len(POLL_S) - 1)])
        polls += 1
        polled = http.request("GET", f"/api/v1/tasks/{task['task_id']}", deadline=deadline, headers=sent)
        _raise_for_error(http, polled)
        task = _task_json(name, polled)
    if task["status"] != "succeeded":
        code = (task.get("error") or {}).get("code")
        if code in IMAGE_CODES:
            raise ClientInputError("the image was refused as unreadable by the provider that processed it", code=code)
        raise UpstreamUnavailable(f"{name}: the upstream task ended {task['status']} ({code or 'no code'})",
                                  reason="task_failed")
    result = http.request("GET", f"/api/v1/tasks/{task['task_id']}/result", deadline=deadline,
                          headers={**headers, "Accept": "image/*"})
    _raise_for_error(http, result)
    return result.body


def _raise_for_error(http: PinnedHttp, response: UpstreamResponse) -> None:
    if response.status == 400:
        body = response.json()
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        if code in IMAGE_CODES:
            raise ClientInputError("the image was refused as unreadable by the provider that processed it", code=code)
    raise_for_status(http.spec, response)


def _task_json(name: str, response: UpstreamResponse) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("task_id"), str) or "status" not in body:
        raise UpstreamUnavailable(f"{name}: answered something that is not a task", reason="bad_result")
    if not body["task_id"].replace("-", "").isalnum():
        raise UpstreamUnavailable(f"{name}: answered a malformed task id", reason="bad_result")
    return body


def _cancel(http: PinnedHttp, task_id: str, headers: Mapping[str, str], deadline: float) -> None:
    try:  # best effort, a second or two past the deadline at most; a processing task cannot be canceled
        http.request("DELETE", f"/api/v1/tasks/{task_id}", deadline=max(deadline, time.monotonic() + 2),
                     headers=headers)
    except UpstreamUnavailable:
        pass
