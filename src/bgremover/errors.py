"""Every error bgremover raises on purpose, in one tree (each class carries a stable machine-readable ``code``).

    BgRemoverError                     internal_error (base)
    ├── InvalidImage                   the bytes are not an image we accept
    │   ├── UnsupportedImage           unsupported_image: not JPEG, PNG or WebP
    │   ├── CorruptImage               corrupt_image: truncated or undecodable
    │   └── ImageTooLarge              image_too_large: bytes or pixels over the limit
    ├── ModelError                     the operator's side of a model
    │   ├── UnknownModel               unsupported_model: no such model or preset
    │   ├── ModelNotAvailable          model_not_available: weights not fetched
    │   ├── LicenseNotAccepted         license_not_accepted: opt-in weights (AGPL) not accepted
    │   ├── ModelCorrupt               model_corrupt: file on disk fails its checksum
    │   ├── FetchFailed                model_fetch_failed: client missing, network down, checksum differs
    │   └── CatalogInvalid             catalog_invalid: a preset's recipe is malformed
    │       └── RecipeError            (pipeline/recipe.py; also a ValueError)
    ├── ImageFetchFailed               image_fetch_failed: the image URL could not be fetched
    │   └── ForbiddenAddress           image_fetch_forbidden: SSRF policy refused the address
    ├── StorageFull                    storage_full: no space left (raised at the store's edge, store/space.py)
    └── ServiceError                   (service/errors.py)
        ├── ValidationFailed           validation_error
        ├── ProviderNotAllowed         provider_not_allowed: a request pinned a provider the operator does not offer
        ├── Unauthorized               unauthorized: no, unknown or revoked API key
        │   └── InvalidApiKey          (web/errors.py: a key was sent; the challenge says invalid_token)
        ├── InsufficientCredits        insufficient_credits
        ├── RateLimited                rate_limited: requests per minute or tasks in flight over the limit
        ├── QueueFull                  queue_full: the queue is deeper than max_queue_depth
        ├── TaskNotFound               task_not_found (also for another account's task)
        ├── TaskNotCancelable          task_not_cancelable: only queued tasks can be canceled
        ├── ResultNotReady             result_not_ready
        ├── ResultExpired              result_expired
        ├── IdempotencyConflict        idempotency_conflict: same key, different request
        ├── AccountNotFound            account_not_found
        ├── AccountExists              account_exists
        ├── KeyNotFound                key_not_found
        ├── OrderNotFound              order_not_found
        ├── OrderNotPending            order_not_pending
        ├── InviteInvalid              invite_invalid
        ├── WebhookRejected            webhook_rejected: bad signature, replay, or not an event
        └── WebhookDisabled            webhook_disabled

Outside the tree, on purpose: the dashboard's ``LoginRequired`` and ``Forbidden`` (web/dashboard/session.py),
which answer with a redirect or an HTML page rather than the error envelope. HTTP statuses are chosen in
one place (``web/errors.py``, its ``ERRORS`` table); the engine never knows about HTTP.
"""
from __future__ import annotations


class BgRemoverError(Exception):
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidImage(BgRemoverError):
    code = "unsupported_image"


class UnsupportedImage(InvalidImage):
    code = "unsupported_image"


class CorruptImage(InvalidImage):
    code = "corrupt_image"


class ImageTooLarge(InvalidImage):
    code = "image_too_large"


class ModelError(BgRemoverError):
    code = "model_error"


class UnknownModel(ModelError):
    code = "unsupported_model"


class ModelNotAvailable(ModelError):
    code = "model_not_available"


class LicenseNotAccepted(ModelError):
    code = "license_not_accepted"


class ModelCorrupt(ModelError):
    code = "model_corrupt"


class FetchFailed(ModelError):
    code = "model_fetch_failed"


class CatalogInvalid(ModelError):
    """The operator's catalog is malformed (found at load time)."""

    code = "catalog_invalid"


class ImageFetchFailed(BgRemoverError):
    code = "image_fetch_failed"


class ForbiddenAddress(ImageFetchFailed):
    code = "image_fetch_forbidden"


class StorageFull(BgRemoverError):
    """The server could not store bytes for lack of space: transient, and nothing is charged for it."""

    code = "storage_full"
