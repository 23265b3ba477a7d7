"""Run a preset's recipe: which models, how their maps are combined, how edges are refined.

A recipe is data (``[presets.NAME.recipe]`` in ``catalog.toml``), parsed and checked here once
per preset, and interpreted by ``run_recipe`` with no per-preset branches::

    [presets.bg-remover-hq.recipe]
    weights = { u2net = 2.0, u2netp = 1.0 }   # weighted mean of the models' maps (default: equal)
    flip = true                               # horizontal-flip test-time augmentation (or a list of model ids)
    rule = "mean"                             # or "confidence": see pipeline/ensemble.py
    input_size = { u2net = 320 }              # run a model at another square input (inference/graph_size.py)
    [presets.bg-remover-hq.recipe.refine]     # see pipeline/refine.py RefineParams
    method = "guided"
    radius = 2
    [presets.bg-remover-hq.recipe.matting]    # see pipeline/matting.py MattingParams (default: off)
    method = "none"
    [presets.bg-remover-hq.recipe.foreground] # see pipeline/foreground.py ForegroundParams
    method = "blur_fusion"

Unknown keys are rejected with the preset's name and the keys it accepts, so a typo in an
operator's catalog fails at start-up instead of silently running the defaults.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bgremover.errors import CatalogInvalid
from bgremover.inference.catalog import Preset
from bgremover.inference.registry import SegmenterRegistry
from bgremover.pipeline.ensemble import RULES, ensemble_map
from bgremover.pipeline.foreground import ForegroundParams, estimate_foreground
from bgremover.pipeline.matting import MattingParams, matte_band
from bgremover.pipeline.refine import RefineParams, refine_alpha


class RecipeError(CatalogInvalid, ValueError):
    """A preset's recipe table is malformed (an operator's catalog error, found at load time)."""


@dataclass(frozen=True)
class Recipe:
    weights: dict[str, float]
    flip: tuple[str, ...] = ()  # the models that also see the mirrored photo (``flip = true``: all of them)
    refine: RefineParams = field(default_factory=RefineParams)
    foreground: ForegroundParams = field(default_factory=ForegroundParams)
    rule: str = "mean"
    matting: MattingParams = field(default_factory=MattingParams)
    input_size: dict[str, int] = field(default_factory=dict)  # models run at another square input


@dataclass
class Matte:
    alpha: np.ndarray  # H x W float32 in [0, 1]
    foreground: np.ndarray  # H x W x 3 uint8: colour to show where alpha > 0
    timings: dict[str, float]


_TOP_KEYS = {"weights", "flip", "refine", "foreground", "rule", "matting", "input_size"}


def _section(preset: str, name: str, cls: type, table: Any) -> Any:
    if not isinstance(table, dict):
        raise RecipeError(f"preset {preset!r}: recipe.{name} must be a table, not {table!r}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise RecipeError(f"preset {preset!r}: unknown key(s) {', '.join(unknown)} in recipe.{name}; "
                          f"accepted: {', '.join(known)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"preset {preset!r}: {exc}") from None


def _only_its_models(preset: str, key: str, named: Iterable[str], models: tuple[str, ...]) -> None:
    unknown = sorted(set(named) - set(models))
    if unknown:
        raise RecipeError(f"preset {preset!r}: recipe.{key} names model(s) {', '.join(unknown)} that the preset "
                          f"does not use ({', '.join(models)})")


def parse_recipe(name: str, models: tuple[str, ...], table: dict[str, Any]) -> Recipe:
    """Check and type a preset's recipe table; ``models`` are the preset's models."""
    unknown = sorted(set(table) - _TOP_KEYS)
    if unknown:
        raise RecipeError(f"preset {name!r}: unknown recipe key(s) {', '.join(unknown)}; "
                          f"accepted: {', '.join(sorted(_TOP_KEYS))}")
    if not models:
        raise RecipeError(f"preset {name!r} names no models")
    weights = table.get("weights", {m: 1.0 for m in models})
    if not isinstance(weights, dict) or set(weights) != set(models):
        raise RecipeError(f"preset {name!r}: recipe.weights must give a weight to each of its models "
                          f"({', '.join(models)}), got {weights!r}")
    if any(not isinstance(w, (int, float)) or w <= 0 for w in weights.values()):
        raise RecipeError(f"preset {name!r}: recipe.weights must be positive numbers, got {weights!r}")
    flip = table.get("flip", False)
    if isinstance(flip, bool):
        flip = list(models) if flip else []
    elif not (isinstance(flip, list) and all(isinstance(m, str) for m in flip)):
        raise RecipeError(f"preset {name!r}: recipe.flip must be true, false or a list of the preset's models, "
                          f"not {flip!r}")
    _only_its_models(name, "flip", flip, models)
    input_size = table.get("input_size", {})
    if not (isinstance(input_size, dict) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 32
                                                 for v in input_size.values())):
        raise RecipeError(f"preset {name!r}: recipe.input_size must map models to whole pixel sizes >= 32, "
                          f"not {input_size!r}")
    _only_its_models(name, "input_size", input_size, models)
    rule = table.get("rule", "mean")
    if rule not in RULES:
        raise RecipeError(f"preset {name!r}: recipe.rule must be one of {', '.join(RULES)}, not {rule!r}")
    return Recipe(
        weights={m: float(weights[m]) for m in models},
        flip=tuple(m for m in models if m in flip),
        rule=rule,
        input_size=dict(input_size),
        matting=_section(name, "matting", MattingParams, table.get("matting", {})),
        refine=_section(name, "refine", RefineParams, table.get("refine", {})),
        foreground=_section(name, "foreground", ForegroundParams, table.get("foreground", {})),
    )


_parsed: dict[tuple[str, tuple[str, ...], str], Recipe] = {}


def recipe_of(preset: Preset) -> Recipe:
    """The preset's parsed recipe, parsed once per distinct preset."""
    key = (preset.name, preset.models, repr(preset.recipe))
    recipe = _parsed.get(key)
    if recipe is None:
        recipe = _parsed[key] = parse_recipe(preset.name, preset.models, preset.recipe)
    return recipe


def run_recipe(rgb: np.ndarray, preset: Preset, registry: SegmenterRegistry) -> Matte:
    """Photo (uint8 HxWx3) to alpha and foreground colour, with seconds per stage."""
    recipe = recipe_of(preset)
    t0 = time.perf_counter()
    prob = ensemble_map(rgb, recipe.weights, registry, flip=recipe.flip, rule=recipe.rule,
                        sizes=recipe.input_size)
    t1 = time.perf_counter()
    alpha = refine_alpha(rgb, prob, recipe.refine)
    del prob
    t2 = time.perf_counter()
    timings = {"predict": t1 - t0, "refine": t2 - t1}
    if recipe.matting.method != "none":  # reported only when the preset runs it
        alpha = matte_band(rgb, alpha, recipe.matting)
        timings["matting"] = time.perf_counter() - t2
        t2 = time.perf_counter()
    fg = estimate_foreground(rgb, alpha, recipe.foreground)
    timings["foreground"] = time.perf_counter() - t2
    return Matte(alpha=alpha, foreground=fg, timings=timings)
