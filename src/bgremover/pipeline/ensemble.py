"""One probability map from several models and test-time augmentations.

Each model sees the photo once (plus once mirrored when ``flip`` is on for it: a mirrored photo is
as valid an input, and the two maps' errors are partly independent; a recipe may mirror only its
cheap models, as the IS-Net preset does). Maps of different sizes
(320 for U²-Net, 1024 for IS-Net) are brought to the largest before they are combined by a
weighted mean. The preprocessing is done once per model; the mirror is a flip of its tensor.

With ``rule = "confidence"`` each model's weight is, pixel by pixel, also scaled by how sure it
is there (``|2p - 1| + 0.05``): where IS-Net is sure of a hair strand and U²-Net is a grey haze,
the sure model decides. On the dev set this lowered alpha MSE and Grad on both halves of a
held-out split (IS-Net preset), and raised mask MAE by about 0.0005.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping

import cv2
import numpy as np

from bgremover.inference.registry import SegmenterRegistry
from bgremover.inference.session import OnnxSegmenter


def model_map(rgb: np.ndarray, model_id: str, registry: SegmenterRegistry, *, flip: bool = False,
              release: bool = False, size: int | None = None) -> np.ndarray:
    """The model's probability map (its input resolution, float32 in [0, 1]), flip-averaged if asked.
    ``release``: the model hands its memory arena back after its last run (see OnnxSegmenter.run).
    ``size``: run the model at this square input instead of its own."""
    seg = registry.get(model_id, size)
    batch = seg.preprocess(rgb)
    prob = seg.postprocess(seg.run(batch, release=release and not flip)[0])
    if flip:
        mirrored = seg.postprocess(seg.run(np.ascontiguousarray(batch[..., ::-1]), release=release)[0])
        prob = 0.5 * (prob + mirrored[:, ::-1])
    return prob.astype(np.float32)


RULES = ("mean", "confidence")
_CONFIDENCE_FLOOR = np.float32(0.05)  # a model that is unsure everywhere still counts a little


def combine(maps: list[np.ndarray], weights: list[float], rule: str = "mean") -> np.ndarray:
    """Weighted mean of maps, each resized (bilinear) to the largest map's size; with
    ``rule="confidence"`` the weights are also scaled per pixel by each map's confidence."""
    if rule not in RULES:
        raise ValueError(f"ensemble rule must be one of {', '.join(RULES)}, not {rule!r}")
    if len(maps) == 1:
        return maps[0]
    h = max(m.shape[0] for m in maps)
    w = max(m.shape[1] for m in maps)
    total = np.zeros((h, w), np.float32)
    norm = np.zeros((h, w), np.float32) if rule == "confidence" else np.float32(sum(weights))
    for m, wt in zip(maps, weights):
        if m.shape != (h, w):
            m = cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)
        if rule == "confidence":
            k = (np.abs(2 * m - 1) + _CONFIDENCE_FLOOR) * np.float32(wt)
            total += k * m
            norm += k
        else:
            total += np.float32(wt) * m
    return total / norm


KEEP_ARENAS_MAX_PIXELS = 6_000_000


def hand_back_arenas(segmenters: list[OnnxSegmenter], pixels: int) -> bool:
    """Whether an ensemble's models return their memory arenas after their runs.

    Kept, they made the Apache HQ preset's four runs 0.17 s faster at 1 MP (1.71 vs 1.88 s), at 1.4 GB
    peak. But they stay allocated while the photo is refined at full size: that preset peaked at 2191 MB
    on a 36 MP photo and the IS-Net preset (IS-Net at 640 px keeps an arena too) at 1954 MB on a 12 MP
    one (issue 7: 2 GB), so above ``KEEP_ARENAS_MAX_PIXELS`` they are handed back, where a fraction of a
    second is little beside the refinement's own seconds (IS-Net preset: 1800 MB at 5.9 MP, 1223 MB at
    12 MP). Beside a model too large for an arena (IS-Net at 1024 px allocates per run) they would add to
    its peak, so they are handed back at any size."""
    if len(segmenters) < 2:
        return False
    return pixels > KEEP_ARENAS_MAX_PIXELS or not all(s.keeps_arena for s in segmenters)


def ensemble_map(rgb: np.ndarray, weights: dict[str, float], registry: SegmenterRegistry, *,
                 flip: Collection[str] = (), rule: str = "mean", sizes: Mapping[str, int] | None = None) -> np.ndarray:
    """``flip``: the models that also see the mirrored photo; ``sizes``: models run at another input size."""
    ids = list(weights)
    sizes = sizes or {}
    release = hand_back_arenas([registry.get(m, sizes.get(m)) for m in ids], rgb.shape[0] * rgb.shape[1])
    maps = [model_map(rgb, m, registry, flip=m in flip, release=release, size=sizes.get(m)) for m in ids]
    return combine(maps, [weights[m] for m in ids], rule)
