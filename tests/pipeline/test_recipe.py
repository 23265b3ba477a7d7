"""Recipes are data: each preset's [presets.NAME.recipe] table is checked once and run by one interpreter."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgremover.inference.catalog import Preset, load_catalog
from bgremover.pipeline.foreground import ForegroundParams
from bgremover.pipeline.recipe import RecipeError, parse_recipe, run_recipe
from bgremover.pipeline.refine import RefineParams


def photo_scene(h: int = 240, w: int = 320) -> np.ndarray:
    """A red ball on a plain light-grey studio wall: the subject and the background are known."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    alpha = np.clip(0.3 * h - np.hypot(yy - h / 2, xx - w / 2) + 0.5, 0, 1)[..., None]
    shade = np.clip(1.1 - np.hypot(yy - h * 0.4, xx - w * 0.45) / (0.5 * h), 0.3, 1)[..., None]
    ball = np.array([210, 30, 30], np.float32) * shade
    wall = np.full((h, w, 3), 225, np.float32)
    img = cv2.GaussianBlur(wall * (1 - alpha) + ball * alpha, (0, 0), 0.6)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def test_a_full_recipe_is_typed():
    r = parse_recipe("p", ("u2net", "u2netp"), {
        "weights": {"u2net": 2, "u2netp": 1}, "flip": True,
        "refine": {"method": "guided", "radius": 3, "eps": 0.001, "stretch": [0.01, 1.0]},
        "foreground": {"method": "none"}})
    assert r.weights == {"u2net": 2.0, "u2netp": 1.0} and r.flip == ("u2net", "u2netp")  # true: every model
    assert r.refine == RefineParams(method="guided", radius=3, eps=0.001, stretch=(0.01, 1.0))
    assert r.foreground == ForegroundParams(method="none")


def test_flip_may_name_the_models_that_also_see_the_mirrored_photo():
    r = parse_recipe("p", ("isnet-imgly", "u2net", "u2netp"), {"flip": ["u2netp", "u2net"]})
    assert r.flip == ("u2net", "u2netp")  # in the preset's order


def test_input_size_runs_a_model_at_another_square_input():
    r = parse_recipe("p", ("isnet-imgly", "u2net"), {"input_size": {"isnet-imgly": 640}})
    assert r.input_size == {"isnet-imgly": 640}
    assert parse_recipe("p", ("u2netp",), {}).input_size == {}


def test_an_empty_recipe_weighs_the_presets_models_equally_and_uses_the_defaults():
    r = parse_recipe("p", ("u2netp",), {})
    assert r.weights == {"u2netp": 1.0} and r.flip == ()
    assert r.refine == RefineParams() and r.foreground == ForegroundParams()


@pytest.mark.parametrize("table, message", [
    ({"fllip": True},
     "unknown recipe key(s) fllip; accepted: flip, foreground, input_size, matting, refine, rule, weights"),
    ({"refine": {"radius": 2, "sigma": 1}}, "unknown key(s) sigma in recipe.refine; accepted: method"),
    ({"foreground": {"methd": "none"}}, "unknown key(s) methd in recipe.foreground"),
    ({"refine": "guided"}, "recipe.refine must be a table"),
    ({"refine": {"method": "bilateral"}}, "refine.method must be 'guided' or 'upsample'"),
    ({"weights": {"u2net": 1}}, "recipe.weights must give a weight to each of its models (u2netp)"),
    ({"weights": {"u2netp": 0}}, "recipe.weights must be positive numbers"),
    ({"flip": "yes"}, "recipe.flip must be true, false or a list of the preset's models"),
    ({"flip": ["u2net"]}, "recipe.flip names model(s) u2net that the preset does not use (u2netp)"),
    ({"rule": "max"}, "recipe.rule must be one of mean, confidence"),
    ({"matting": {"method": "knn"}}, "matting.method must be 'none' or 'closed_form'"),
    ({"matting": {"band": [0.9, 0.1]}}, "matting.band must be [lo, hi]"),
    ({"input_size": {"u2netp": "large"}}, "recipe.input_size must map models to whole pixel sizes >= 32"),
    ({"input_size": {"u2netp": 16}}, "recipe.input_size must map models to whole pixel sizes >= 32"),
    ({"input_size": {"u2net": 640}}, "recipe.input_size names model(s) u2net that the preset does not use"),
])
def test_a_malformed_recipe_is_rejected_with_a_clear_error(table, message):
    with pytest.raises(RecipeError) as err:
        parse_recipe("my-preset", ("u2netp",), table)
    assert "preset 'my-preset'" in str(err.value) and message in str(err.value)


def test_every_shipped_preset_has_a_valid_recipe_and_the_apache_ones_use_apache_weights():
    cat = load_catalog()
    for p in cat.presets.values():
        recipe = parse_recipe(p.name, p.models, p.recipe)
        assert set(recipe.weights) == set(p.models)
        for m in p.models:  # the preset shows every licence its weights carry
            assert cat.model(m).licence in p.licence, (p.name, m)
    for name in ("bg-remover", "bg-remover-fast", "bg-remover-hq"):
        assert all(cat.model(m).licence == "Apache-2.0" for m in cat.preset(name).models), name


@pytest.mark.parametrize("flip", [False, True])
def test_running_a_recipe_cuts_out_the_ball_and_times_each_stage(remover, flip):
    rgb = photo_scene()
    preset = Preset(name="t", credits=1, description="", models=("u2netp",), licence="Apache-2.0",
                    recipe={"flip": flip, "refine": {"radius": 2}, "foreground": {"method": "blur_fusion"}})
    m = run_recipe(rgb, preset, remover.registry)
    assert m.alpha.shape == rgb.shape[:2] and m.alpha.dtype == np.float32
    assert 0.0 <= m.alpha.min() and m.alpha.max() <= 1.0
    assert m.alpha[120, 160] > 0.9 and m.alpha[110:130, 150:170].mean() > 0.9  # the ball's centre
    assert m.alpha[:20, :20].max() < 0.1 and m.alpha[-20:, -20:].max() < 0.1  # the wall's corners
    assert m.foreground.shape == rgb.shape and m.foreground.dtype == np.uint8
    assert set(m.timings) == {"predict", "refine", "foreground"}
    assert all(t >= 0 for t in m.timings.values())


def test_a_recipe_may_run_its_model_at_another_input_size(remover):
    rgb = photo_scene()
    native = Preset(name="t", credits=1, description="", models=("u2netp",), licence="Apache-2.0", recipe={})
    larger = Preset(name="t384", credits=1, description="", models=("u2netp",), licence="Apache-2.0",
                    recipe={"input_size": {"u2netp": 384}})
    a = run_recipe(rgb, native, remover.registry).alpha
    b = run_recipe(rgb, larger, remover.registry).alpha
    assert b.shape == rgb.shape[:2]
    assert b[110:130, 150:170].mean() > 0.9 and b[:20, :20].max() < 0.1  # still the ball, on the wall
    assert not np.array_equal(a, b)  # and another map: the model really saw 384 px


def test_a_recipe_with_matting_reports_the_matting_stage(remover):
    rgb = photo_scene()
    preset = Preset(name="t", credits=1, description="", models=("u2netp",), licence="Apache-2.0",
                    recipe={"rule": "confidence", "matting": {"method": "closed_form", "work_side": 160}})
    m = run_recipe(rgb, preset, remover.registry)
    assert set(m.timings) == {"predict", "refine", "matting", "foreground"}
    assert m.alpha[110:130, 150:170].mean() > 0.9 and m.alpha[:20, :20].max() < 0.1
