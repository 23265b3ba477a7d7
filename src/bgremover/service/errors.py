"""Errors of the service layer: the ``ServiceError`` branch of the one tree drawn in ``bgremover/errors.py``.

Each has a stable ``code``; HTTP statuses are chosen in ``web/errors.py``. StorageFull is raised at the store's
edge (``store/space.py``) and re-exported here with the helper that re-words it for a caller.
"""
from __future__ import annotations

from bgremover.errors import BgRemoverError
from bgremover.errors import StorageFull as StorageFull  # re-exported: raised at the store's edge
from bgremover.store.space import disk_full_as_storage_full as disk_full_as_storage_full  # callers re-word it


class ServiceError(BgRemoverError):
    code = "service_error"


class ValidationFailed(ServiceError):
    code = "validation_error"


class ProviderNotAllowed(ServiceError):
    code = "provider_not_allowed"


class Unauthorized(ServiceError):
    code = "unauthorized"


class InsufficientCredits(ServiceError):
    code = "insufficient_credits"


class RateLimited(ServiceError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, limit: int, remaining: int = 0, reset: int = 0,
                 scope: str = "requests") -> None:
        super().__init__(message)
        self.retry_after, self.limit, self.remaining = retry_after, limit, remaining
        self.reset, self.scope = reset, scope


class QueueFull(ServiceError):
    code = "queue_full"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TaskNotFound(ServiceError):
    code = "task_not_found"


class TaskNotCancelable(ServiceError):
    code = "task_not_cancelable"


class ResultNotReady(ServiceError):
    code = "result_not_ready"


class ResultExpired(ServiceError):
    code = "result_expired"


class IdempotencyConflict(ServiceError):
    code = "idempotency_conflict"


class AccountNotFound(ServiceError):
    code = "account_not_found"


class AccountExists(ServiceError):
    code = "account_exists"


class KeyNotFound(ServiceError):
    code = "key_not_found"


class OrderNotFound(ServiceError):
    code = "order_not_found"


class OrderNotPending(ServiceError):
    code = "order_not_pending"


class InviteInvalid(ServiceError):
    code = "invite_invalid"


class WebhookRejected(ServiceError):
    """The request is not a genuine, fresh, well-formed event from the provider; nothing changed."""

    code = "webhook_rejected"


class WebhookDisabled(ServiceError):
    code = "webhook_disabled"
