"""ensemble_map: several models' maps and the mirrored photo's map, combined into one probability map."""
from __future__ import annotations

import numpy as np
import pytest

from bgremover.pipeline.ensemble import KEEP_ARENAS_MAX_PIXELS, combine, ensemble_map, hand_back_arenas, model_map


def asymmetric_photo(h: int = 200, w: int = 300) -> np.ndarray:
    """A dark-blue box left of centre on a light wall: its mirror image differs, so flipping matters."""
    img = np.full((h, w, 3), 230, np.uint8)
    img[60:170, 40:150] = (20, 40, 140)
    return img


def test_maps_of_different_sizes_are_combined_at_the_largest_size_by_weighted_mean():
    small = np.zeros((320, 320), np.float32)
    large = np.ones((1024, 1024), np.float32)
    out = combine([small, large], [1.0, 3.0])
    assert out.shape == (1024, 1024)
    assert out[500, 500] == pytest.approx(0.75)


def test_the_confidence_rule_lets_the_surer_map_decide_each_pixel():
    sure = np.array([[0.95, 0.05]], np.float32)  # sure of subject left, of background right
    haze = np.array([[0.4, 0.6]], np.float32)  # a grey haze, leaning the wrong way
    mean = combine([sure, haze], [1.0, 1.0])
    conf = combine([sure, haze], [1.0, 1.0], rule="confidence")
    np.testing.assert_allclose(mean, [[0.675, 0.325]], atol=1e-6)
    # weights |2p - 1| + 0.05: 0.95 for the sure map, 0.25 for the haze
    np.testing.assert_allclose(conf, [[(0.95 * 0.95 + 0.25 * 0.4) / 1.2, (0.95 * 0.05 + 0.25 * 0.6) / 1.2]], atol=1e-6)
    assert conf[0, 0] > 0.8 and conf[0, 1] < 0.2  # much nearer the sure map than the mean is
    same = np.full((4, 4), 0.3, np.float32)
    np.testing.assert_allclose(combine([same, same], [2.0, 1.0], rule="confidence"), same, atol=1e-6)
    with pytest.raises(ValueError, match="ensemble rule"):
        combine([same, same], [1.0, 1.0], rule="vote")


def test_a_single_map_passes_through_unchanged():
    m = np.random.default_rng(0).random((320, 320)).astype(np.float32)
    assert combine([m], [2.0]) is m


def test_flip_averages_the_map_with_the_mirrored_photos_map_mirrored_back(remover):
    rgb = asymmetric_photo()
    plain = model_map(rgb, "u2netp", remover.registry)
    mirrored = model_map(np.ascontiguousarray(rgb[:, ::-1]), "u2netp", remover.registry)[:, ::-1]
    both = model_map(rgb, "u2netp", remover.registry, flip=True)
    assert plain.shape == both.shape == (320, 320)
    assert not np.allclose(plain, mirrored, atol=1e-3)  # the test would prove nothing otherwise
    np.testing.assert_allclose(both, 0.5 * (plain + mirrored), atol=2e-3)


def test_an_ensemble_of_one_model_with_weight_is_that_models_map(remover):
    rgb = asymmetric_photo()
    np.testing.assert_array_equal(ensemble_map(rgb, {"u2netp": 5.0}, remover.registry),
                                  model_map(rgb, "u2netp", remover.registry))


def test_small_models_keep_their_arenas_unless_the_photo_is_huge_or_a_model_too_large_for_one_runs_beside_them(
        remover, model_dir):
    from dataclasses import replace

    from bgremover.inference.session import ARENA_MAX_SIDE, OnnxSegmenter

    small = remover.registry.get("u2netp")
    large_spec = replace(small.spec, input_size=ARENA_MAX_SIDE)  # as IS-Net: allocates per run
    large = OnnxSegmenter(large_spec, small.spec.file_path(model_dir), providers=["CPUExecutionProvider"])
    assert small.keeps_arena and not large.keeps_arena
    one_mp, big = 1_000_000, KEEP_ARENAS_MAX_PIXELS + 1
    assert hand_back_arenas([small], big) is False  # one model: faster with its arena kept
    assert hand_back_arenas([small, small], one_mp) is False  # the Apache HQ preset: small arenas, kept
    assert hand_back_arenas([small, small], big) is True  # ... unless the photo's own buffers are large
    assert hand_back_arenas([large, small], one_mp) is True  # the IS-Net preset: they would add to its peak


def test_flip_can_mirror_some_models_and_not_others(remover):
    rgb = asymmetric_photo()
    reg = remover.registry
    both = ensemble_map(rgb, {"u2netp": 1.0}, reg, flip=["u2netp"])
    np.testing.assert_array_equal(both, model_map(rgb, "u2netp", reg, flip=True))
    assert not np.allclose(both, model_map(rgb, "u2netp", reg), atol=1e-3)  # the mirror was run
    np.testing.assert_array_equal(ensemble_map(rgb, {"u2netp": 1.0}, reg, flip=[]), model_map(rgb, "u2netp", reg))
