"""One contract, every kind of real upstream: the same tests run against a second bgremover, the remove.bg
protocol and ``rembg s`` (the ``upstream`` fixture is parametrised over them), all on loopback."""
from __future__ import annotations

import io
import logging

import numpy as np
import pytest
from PIL import Image

from bgremover.providers import ProvidersExhausted
from providers.conftest import PHOTO_SIZE, Upstream
from providers.routing import FAST, make_router, options, pixels


def router_for(upstream: Upstream, **table: object):
    return make_router({"up": {**upstream.table, **table}}, ["up"], environ=upstream.env)


def test_serves_a_checked_full_size_cutout_and_says_who_and_what_it_cost(upstream: Upstream, photo: bytes) -> None:
    router = router_for(upstream)
    served = router.run_with_failover(router.route(FAST), photo, options())
    assert served.provider == "up"
    assert [(a.provider, a.outcome) for a in served.attempts] == [("up", "succeeded")]
    assert served.upstream_cost == upstream.table["cost_per_image"]
    assert served.result.latency_s > 0
    mode, size, px = pixels(served.result.data)
    assert (mode, size) == ("RGBA", PHOTO_SIZE)
    assert (served.result.width, served.result.height) == PHOTO_SIZE
    alpha = px[..., 3]
    w, h = PHOTO_SIZE
    assert alpha[h // 2, w // 2] > 200, "the red disc in the middle is the subject"
    assert alpha[2, 2] < 50, "the green corner is background"


def test_the_clients_options_are_applied_whoever_serves(upstream: Upstream, photo: bytes) -> None:
    router = router_for(upstream)
    route = router.route(FAST)
    matte = router.run_with_failover(route, photo, options(channels="alpha"))
    assert pixels(matte.result.data)[:2] == ("L", PHOTO_SIZE)
    cropped = router.run_with_failover(route, photo, options(crop=True, format="webp"))
    assert cropped.result.content_type == "image/webp"
    w, h = Image.open(io.BytesIO(cropped.result.data)).size
    assert w < PHOTO_SIZE[0] and h < PHOTO_SIZE[1], "cropped to the disc"
    on_white = router.run_with_failover(route, photo, options(bg_color="#ffffff"))
    mode, _size, px = pixels(on_white.result.data)
    assert mode == "RGB" and tuple(px[2, 2]) == (255, 255, 255)


def test_the_subjects_box_comes_with_the_result_even_when_a_background_hides_the_matte(upstream: Upstream,
                                                                                        photo: bytes) -> None:
    router = router_for(upstream)
    route = router.route(FAST)
    plain = router.run_with_failover(route, photo, options()).result
    ys, xs = np.nonzero(pixels(plain.data)[2][..., 3] > 0.05 * 255)
    box = (ys.min(), xs.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    assert plain.foreground_box == box and box[2] < PHOTO_SIZE[0]
    assert router.run_with_failover(route, photo, options(bg_color="#ffffff")).result.foreground_box == box
    cropped = router.run_with_failover(route, photo, options(crop=True, crop_margin=4, bg_color="#ffffff")).result
    assert cropped.foreground_box == (min(box[0], 4), min(box[1], 4), box[2], box[3])


def test_a_refused_key_fails_over_and_never_shows_the_key(upstream: Upstream, photo: bytes,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    if not upstream.has_keys:
        pytest.skip(f"{upstream.name} takes no API key")
    var = upstream.table["api_key_env"]
    wrong = {var: "wrong-" + upstream.env[var]}
    router = make_router({"up": upstream.table}, ["up"], environ=wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProvidersExhausted) as info:
        router.run_with_failover(router.route(FAST), photo, options())
    assert [(a.provider, a.outcome, a.reason) for a in info.value.attempts] == [("up", "failed", "auth")]
    shown = " ".join([str(info.value), repr(info.value.attempts), caplog.text, repr(router.config)])
    assert wrong[var] not in shown and upstream.env[var] not in shown


def test_results_agree_with_the_local_pipeline(upstream: Upstream, photo: bytes, remover) -> None:
    """Same photo, same u2netp weights: the upstream's matte is the local one within resampling noise."""
    router = router_for(upstream)
    served = router.run_with_failover(router.route(FAST), photo, options(channels="alpha"))
    local = remover.remove(photo, model=FAST, channels="alpha").data
    a = np.asarray(Image.open(io.BytesIO(served.result.data)), np.float32) / 255
    b = np.asarray(Image.open(io.BytesIO(local)), np.float32) / 255
    assert np.mean(np.abs(a - b)) < 0.05
