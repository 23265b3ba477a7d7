"""A tiny generated evaluation set in the real set's layout, with the answer known by construction.

The real dev set may not be shipped (evaluation-only terms), so tests and smoke runs of
``bgremover eval`` use this one: subjects composited onto textured backgrounds, hard masks and
soft alpha mattes, one 16-bit ground truth and one photo with no subject at all.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = (96, 128)  # height, width


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([60 + 40 * np.sin(xx / 7), 90 + 30 * np.cos(yy / 5), 70 + 20 * np.sin((xx + yy) / 9)], axis=2)
    return np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255)


def _disc(h: int, w: int, cy: float, cx: float, r: float, soft: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) - r
    return np.clip(0.5 - d / max(soft, 1e-3), 0.0, 1.0) if soft else (d <= 0).astype(np.float32)


def _items(h: int, w: int) -> list[tuple[str, str, str, np.ndarray, tuple[int, int, int]]]:
    """(name, kind, dataset, alpha in [0, 1], subject colour)."""
    rect = np.zeros((h, w), np.float32)
    rect[19:81, 29:91] = 128 / 255  # an anti-aliased rim right at the binarisation threshold (> 128)
    rect[20:80, 30:90] = 1.0
    rect[20:80, 89] = 129 / 255
    return [
        ("shape_disc", "mask", "shapes (generated)", _disc(h, w, 48, 64, 30, 0), (240, 230, 40)),
        ("shape_box", "mask", "shapes (generated)", rect, (230, 40, 200)),
        ("shape_none", "mask", "shapes (generated)", np.zeros((h, w), np.float32), (0, 0, 0)),
        ("soft_blob", "alpha", "soft edges (generated)", _disc(h, w, 50, 60, 26, 14), (250, 250, 250)),
        ("soft_ring", "alpha", "soft edges (generated)",
         np.clip(_disc(h, w, 48, 64, 34, 10) - 0.6 * _disc(h, w, 48, 64, 14, 8), 0, 1), (30, 220, 250)),
    ]


def write_synthetic_set(root: str | Path, seed: int = 0) -> Path:
    """Write images/, gt/ and manifest.json under ``root``; returns ``root``."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "gt").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    h, w = SIZE
    manifest = []
    for name, kind, dataset, alpha, colour in _items(h, w):
        fg = np.clip(np.array(colour, np.float32) + rng.normal(0, 6, (h, w, 3)), 0, 255)
        photo = alpha[..., None] * fg + (1 - alpha[..., None]) * _background(rng, h, w)
        Image.fromarray(np.clip(photo + 0.5, 0, 255).astype(np.uint8)).save(root / "images" / f"{name}.jpg",
                                                                            quality=95)
        if name == "soft_ring":  # a 16-bit ground truth, as some matting sets ship
            Image.fromarray(np.round(alpha * 65535).astype(np.uint16)).save(root / "gt" / f"{name}.png")
        else:
            Image.fromarray(np.round(alpha * 255).astype(np.uint8)).save(root / "gt" / f"{name}.png")
        manifest.append({"name": name, "kind": kind, "dataset": dataset, "size": [w, h]})
    (root / "manifest.json").write_text(json.dumps({"items": manifest}, indent=1))
    return root
