"""Who served a task and what it took upstream: the four task columns of issue 16, in one place.

``attempts_json`` is a JSON list, one object per attempt in order, with exactly the fields of
``providers.router.Attempt``: ``{"provider": str, "outcome": "succeeded"|"failed"|"client_error"|"skipped",
"reason": str|null, "latency_s": float, "cost": float}``. The decision panel and ``/metrics`` read it back
with :func:`attempts_of`. Reasons are our own words (timeout, server_error, ...), never an upstream's text.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

ATTEMPT_FIELDS = ("provider", "outcome", "reason", "latency_s", "cost")
PIN_OPTION = "provider"  # the task option that holds a request's pinned provider (checked at submission)


@dataclass(frozen=True)
class Provenance:
    provider: str | None  # who served it; None when none did
    attempts: tuple[dict[str, Any], ...] = ()
    upstream_latency_s: float | None = None  # the serving provider's round trip
    upstream_cost: float | None = None  # what the upstreams charged us for this task (ours, never the client's)

    @classmethod
    def of(cls, attempts: Sequence[Any], provider: str | None = None,
           latency_s: float | None = None) -> Provenance:
        """From the router's ``Attempt`` records (a success's ``Served.attempts`` or a failure's ``.attempts``)."""
        rows = tuple(_row(a) for a in attempts)
        return cls(provider, rows, None if latency_s is None else round(latency_s, 4),
                   round(sum(r["cost"] for r in rows), 6))

    def columns(self) -> dict[str, Any]:
        return {"provider": self.provider, "attempts_json": json.dumps(list(self.attempts)),
                "upstream_latency_s": self.upstream_latency_s, "upstream_cost": self.upstream_cost}


def _row(attempt: Any) -> dict[str, Any]:
    row = asdict(attempt)
    row["latency_s"] = round(float(row["latency_s"]), 4)
    row["cost"] = float(row["cost"])
    return {k: row[k] for k in ATTEMPT_FIELDS}


def attempts_of(attempts_json: str | None) -> list[dict[str, Any]]:
    """A task's attempts back from its column ([] for a task no provider layer ran)."""
    return list(json.loads(attempts_json)) if attempts_json else []
