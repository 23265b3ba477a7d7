"""Run a preset's recipe: which models, how their maps are combined, how edges are refined."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bgremover.inference.catalog import Preset
from bgremover.inference.registry import SegmenterRegistry
from bgremover.pipeline.refine import refine_alpha


@dataclass
class Matte:
    alpha: np.ndarray  # H x W float32 in [0, 1]
    foreground: np.ndarray  # H x W x 3 uint8: colour to show where alpha > 0
    timings: dict[str, float]


def run_recipe(rgb: np.ndarray, preset: Preset, registry: SegmenterRegistry) -> Matte:
    import time

    t0 = time.perf_counter()
    probs = [registry.get(m).predict(rgb) for m in preset.models]
    prob = np.mean(probs, axis=0) if len(probs) > 1 else probs[0]
    t1 = time.perf_counter()
    alpha = refine_alpha(rgb, prob, **preset.recipe.get("refine", {}))
    t2 = time.perf_counter()
    return Matte(alpha=alpha, foreground=rgb, timings={"predict": t1 - t0, "refine": t2 - t1})
