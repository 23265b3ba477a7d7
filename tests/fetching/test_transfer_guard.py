"""A drip-feed is abandoned after the grace, long before its body is complete; real images are not.

The servers are real (127.0.0.1). Nothing here asserts a duration beyond generous bounds: the proof is
the error code and that the drip server never got to send its last byte.
"""
from __future__ import annotations

import http.server
import time

import pytest

from bgremover.config import Settings, load_settings
from bgremover.errors import ImageFetchFailed
from bgremover.fetching import FetchLimits, fetch_image
from bgremover.fetching.transfer_guard import RateFloor

from .local_http import LocalServer, drip_feed, png_bytes, serve_bytes

PNG = png_bytes((64, 48))
FLOOR = FetchLimits(connect_timeout_s=2.0, read_timeout_s=5.0, total_timeout_s=60.0, max_bytes=1024 * 1024,
                    min_bytes_per_s=2000, min_rate_grace_s=0.5)


@pytest.fixture
def allow_127_0_0_1() -> Settings:
    return load_settings(fetch_allow_networks="127.0.0.1/32")


def test_a_jpeg_header_then_a_byte_at_a_time_is_abandoned_before_its_body_completes(
        local_server: LocalServer, allow_127_0_0_1: Settings) -> None:
    # 600 more bytes at one per 50 ms would take 30 s; the total deadline (60 s) is not what stops it
    local_server.routes["/drip.jpg"] = drip_feed(local_server, "drip", b"\xff\xd8\xff\xe0" + b"\0" * 12,
                                                 body_bytes=600, pause_s=0.05)
    start = time.monotonic()
    with pytest.raises(ImageFetchFailed, match="drip-feed") as err:
        fetch_image(local_server.url("/drip.jpg"), allow_127_0_0_1, limits=FLOOR)
    assert err.value.code == "image_fetch_failed"
    assert "bytes/s" in err.value.message and "2,000" in err.value.message
    assert time.monotonic() - start < 20, "ended by the floor, not by the 60 s deadline"
    assert not local_server.finished("drip").wait(2.0), "the server never sent its last byte"
    deadline = time.monotonic() + 10
    while "drip" not in local_server.bytes_sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert local_server.bytes_sent["drip"] < 16 + 600, "the connection was dropped mid-body"


def test_a_late_answer_whose_body_then_comes_at_once_is_not_a_drip(local_server: LocalServer,
                                                                     allow_127_0_0_1: Settings) -> None:
    """The rate counts from the body's first byte: waiting for the headers is the read timeout's business."""
    def late(h: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(1.0)  # twice the grace
        serve_bytes(PNG)(h)

    local_server.routes["/late.png"] = late
    assert fetch_image(local_server.url("/late.png"), allow_127_0_0_1, limits=FLOOR).data == PNG


def test_an_image_sent_faster_than_the_floor_is_fetched_whole(local_server: LocalServer,
                                                               allow_127_0_0_1: Settings) -> None:
    local_server.routes["/fine.png"] = serve_bytes(PNG)
    assert fetch_image(local_server.url("/fine.png"), allow_127_0_0_1, limits=FLOOR).data == PNG


def test_the_floor_and_read_timeout_come_from_the_settings() -> None:
    limits = FetchLimits.from_settings(load_settings(fetch_min_bytes_per_s=1234, fetch_min_rate_grace_s=0.7,
                                                     fetch_read_timeout_s=2.5, fetch_timeout_s=9))
    assert (limits.min_bytes_per_s, limits.min_rate_grace_s, limits.read_timeout_s, limits.total_timeout_s) \
        == (1234, 0.7, 2.5, 9.0)
    assert FetchLimits.from_settings(load_settings(fetch_read_timeout_s=30, fetch_timeout_s=4)).read_timeout_s == 4


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_floor_waits_for_the_grace_then_judges_the_average() -> None:
    clock = _Clock()
    floor = RateFloor("http://x/", min_bytes_per_s=1000, grace_s=2.0, clock=clock)
    floor.feed(16)  # the body's first bytes start the clock
    clock.now += 1.9
    floor.feed(1)  # still in the grace: a slow start is allowed
    clock.now += 0.2
    with pytest.raises(ImageFetchFailed, match="18 bytes in 2.1 s"):
        floor.feed(1)


def test_a_floor_of_zero_never_fires() -> None:
    clock = _Clock()
    floor = RateFloor("http://x/", min_bytes_per_s=0, grace_s=0.0, clock=clock)
    for _ in range(10):
        clock.now += 10
        floor.feed(1)
