"""The small storage interfaces the service depends on; each has an embedded and a scale-out implementation.

    ResultStore   LocalResultStore (files in data_dir)      DatabaseResultStore (bytes in a table)
    RateCounter   MemoryRateCounter (one API process)       RedisRateCounter (shared by API processes;
                                                            SqlRateCounter when there is no Redis)

An S3-compatible ResultStore would implement the same four methods over an object bucket, and a no-op
``sweep_partial_writes`` (a PutObject is atomic: a killed writer leaves nothing behind).
"""
from __future__ import annotations

from typing import Protocol


class ResultStore(Protocol):
    """Opaque bytes by key. ``put`` is atomic: a reader sees all the bytes or none."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def sweep_partial_writes(self) -> int:
        """Delete what writers killed mid-``put`` left behind (after a grace period); return how many."""
        ...


class RateCounter(Protocol):
    """Fixed-window counters: ``hit`` adds one to ``bucket`` in the window containing ``now`` and returns the count."""

    def hit(self, bucket: str, window_s: int, now: float) -> int: ...

    def peek(self, bucket: str, window_s: int, now: float) -> int:
        """The count of ``bucket`` in the window containing ``now``, without adding to it."""
        ...
