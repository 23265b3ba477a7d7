"""The submit policy: what a remove-bg request must be before its credits are reserved.

The web layer parses a request into a :class:`Submission` and answers with what :func:`submit_removal`
returns; everything decided in between is here, in this order: the model (``service/models.py``: default,
availability, licence, price), the options, a pinned provider (only one the operator made pinnable), then the
image source (an upload, a data: URI, or an http(s) URL whose form and literal address are checked now, so a
refused URL costs nothing and is never queued).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bgremover.config import Settings
from bgremover.fetching import AddressPolicy, decode_data_uri, is_data_uri, parse_target_url
from bgremover.service.errors import ValidationFailed, disk_full_as_storage_full
from bgremover.service.models import ModelCatalog, validated_options
from bgremover.service.provenance import PIN_OPTION
from bgremover.service.tasks import TaskQueue, TaskRecord, TaskRequest, submit_task
from bgremover.store.base import ResultStore
from bgremover.store.database import Database

# The image is stored for the worker before the credits are reserved: a full disk there is a 507, never a 500.
STORAGE_FULL_MESSAGE = "the server has no space left to store this request; try again later"


@dataclass(frozen=True)
class Submission:
    """A parsed remove-bg request: exactly one of ``image`` (URL or data: URI) and ``upload``."""

    image: str | None = None
    upload: bytes | None = None
    model: str | None = None
    output_format: str = "png"
    options: dict[str, Any] = field(default_factory=dict)  # channels, crop, crop_margin, bg_color
    provider: str | None = None  # a pinned provider, where the operator allows it (docs/providers.md)


def image_source(submission: Submission, settings: Settings) -> tuple[str | None, bytes | None]:
    """``(source_url, input_data)``: the URL the worker fetches, or the image bytes themselves."""
    if (submission.image is None) == (submission.upload is None):
        raise ValidationFailed("give exactly one of `image` (URL or data: URI) and an `image_file` upload")
    if submission.upload is not None:
        if not submission.upload:
            raise ValidationFailed("the uploaded image_file is empty")
        return None, submission.upload
    image = (submission.image or "").strip()
    if is_data_uri(image):
        return None, decode_data_uri(image, max_bytes=settings.max_image_bytes)[0]
    if urlsplit(image).scheme.lower() not in ("http", "https"):
        raise ValidationFailed("`image` must be an http(s) URL or a data: URI")
    return checked_image_url(image, settings), None


def checked_image_url(url: str, settings: Settings) -> str:
    """An http(s) image URL judged now as far as it can be without a connection: malformed, with credentials, or
    naming a refused literal address is refused (ForbiddenAddress), so it costs nothing and is never queued."""
    target = parse_target_url(url)
    if target.ip is not None:  # a literal address is judged now, as the fetcher would judge it later
        AddressPolicy.from_settings(settings).check(target.ip, host=target.host)
    return url


def plan_task(models: ModelCatalog, settings: Settings, submission: Submission) -> tuple[TaskRequest, int]:
    """The task to create and its price, or the error that refuses the submission (nothing stored or charged)."""
    preset = models.resolve(submission.model)
    validated_options(preset, submission.output_format, submission.options)
    options = dict(submission.options)
    if submission.provider is not None:
        models.check_pin(preset.name, submission.provider)
        options[PIN_OPTION] = submission.provider  # the worker takes it out again (service/processing.py)
    source_url, data = image_source(submission, settings)
    request = TaskRequest(model=preset.name, output_format=submission.output_format, options=options,
                          source_url=source_url, input_data=data)
    return request, preset.credits


def submit_removal(db: Database, blobs: ResultStore, queue: TaskQueue, models: ModelCatalog, *, account_id: int,
                   submission: Submission, idempotency_key: str | None = None) -> tuple[TaskRecord, bool]:
    """Check the submission, then reserve its credits and queue it (``submit_task``); the task and whether it was
    created now (False: an earlier request with the same Idempotency-Key)."""
    settings = models.settings
    request, price = plan_task(models, settings, submission)
    with disk_full_as_storage_full(STORAGE_FULL_MESSAGE):  # submit_task stores the image before it reserves
        return submit_task(db, blobs, queue, settings, account_id=account_id, request=request,
                           credits_cost=price, idempotency_key=idempotency_key)
