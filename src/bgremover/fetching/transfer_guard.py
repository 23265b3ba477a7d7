"""A floor on a fetch's average transfer rate, so a drip-feed ends after a short grace, not at the deadline.

A server that sends a JPEG header and then one byte a second never trips a read timeout, and without a
floor it holds a fetch slot for the whole total deadline (``fetch_timeout_s``). The rate is counted from
the first byte of the body, so a slow origin that answers late and then sends the image at once is not
mistaken for a drip.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from bgremover.errors import ImageFetchFailed


class RateFloor:
    """Fed every chunk of one body; raises ImageFetchFailed once the average rate is under the floor."""

    def __init__(self, what: str, *, min_bytes_per_s: int, grace_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.min_bytes_per_s, self.grace_s, self.clock = what, min_bytes_per_s, grace_s, clock
        self.started: float | None = None
        self.received = 0

    def feed(self, chunk_bytes: int) -> None:
        now = self.clock()
        if self.started is None:
            self.started = now
        self.received += chunk_bytes
        elapsed = now - self.started
        if self.min_bytes_per_s and elapsed > self.grace_s and self.received < self.min_bytes_per_s * elapsed:
            raise ImageFetchFailed(
                f"{self.what} sent {self.received:,} bytes in {elapsed:.1f} s ({self.received / elapsed:,.0f} "
                f"bytes/s); a fetch slower than {self.min_bytes_per_s:,} bytes/s after {self.grace_s:g} s is "
                "abandoned as a drip-feed")
