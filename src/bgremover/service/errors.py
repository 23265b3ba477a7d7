"""Errors of the service layer, each with a stable ``code`` (HTTP statuses are chosen in ``web/errors.py``).

    BgRemoverError (bgremover.errors)
    └── ServiceError
        ├── ValidationFailed       validation_error
        ├── Unauthorized           unauthorized: no, unknown or revoked API key
        ├── InsufficientCredits    insufficient_credits
        ├── RateLimited            rate_limited: requests per minute or tasks in flight over the limit
        ├── QueueFull              queue_full: back-pressure, the queue is deeper than max_queue_depth
        ├── TaskNotFound           task_not_found (also for another account's task)
        ├── TaskNotCancelable      task_not_cancelable: only queued tasks can be canceled
        ├── ResultNotReady         result_not_ready
        ├── ResultExpired          result_expired
        ├── IdempotencyConflict    idempotency_conflict: same key, different request
        ├── AccountNotFound        account_not_found
        ├── AccountExists          account_exists
        └── KeyNotFound            key_not_found
"""
from __future__ import annotations

from bgremover.errors import BgRemoverError


class ServiceError(BgRemoverError):
    code = "service_error"


class ValidationFailed(ServiceError):
    code = "validation_error"


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
