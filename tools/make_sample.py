"""Render src/bgremover/assets/sample.jpg: a photo-like scene made from scratch (no photo, no data set).

A glazed vase holding dry grass stems stands on a wooden table in front of a linen wall: soft shading,
a specular highlight, a contact shadow, depth-of-field blur on the background and thin anti-aliased
stems, so the sample shows both a solid subject and fine detail. Deterministic (fixed seed)::

    .venv/bin/python tools/make_sample.py [OUT.jpg]
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

WIDTH, HEIGHT, SS = 960, 640, 2  # output size and supersampling factor
OUT = Path(__file__).resolve().parent.parent / "src" / "bgremover" / "assets" / "sample.jpg"


def _noise(rng: np.random.Generator, h: int, w: int, blur: float) -> np.ndarray:
    n = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), blur)
    return n / (n.std() + 1e-6)


def _background(rng: np.random.Generator, h: int, w: int, table_y: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # Linen wall: warm grey, light from the upper left, a fine weave.
    light = 0.75 + 0.25 * (1 - yy / h) * (1 - 0.4 * xx / w)
    weave = 0.04 * np.sin(xx * 1.3) * np.sin(yy * 1.1) + 0.05 * _noise(rng, h, w, 1.5)
    wall = np.stack([205, 196, 180], -1).astype(np.float32) * (light + weave)[..., None]
    # Table: wood grain along x, warped by low-frequency noise, darker towards the front edge.
    warp = 18 * _noise(rng, h, w, 40)
    grain = 0.5 + 0.5 * np.sin((yy + warp) * 0.35 + 3 * np.sin(xx / 90))
    rings = 0.08 * _noise(rng, h, w, 3)
    depth = 0.85 + 0.15 * (1 - (yy - table_y) / max(h - table_y, 1))
    wood = np.stack([150, 98, 58], -1).astype(np.float32) * ((0.8 + 0.25 * grain + rings) * depth)[..., None]
    img = np.where((yy < table_y)[..., None], wall, wood)
    img[(yy >= table_y) & (yy < table_y + 3 * SS)] *= 0.7  # the table's back edge
    return cv2.GaussianBlur(img, (0, 0), 2.2 * SS)  # depth of field: the background is out of focus


def _vase(h: int, w: int, cx: float, base_y: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    """Alpha and colour of a solid of revolution: a round body, a narrow neck and a lip."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.clip((base_y - yy) / height, 0, 1)  # 0 at the foot, 1 at the lip
    radius = height * (0.17 + 0.2 * np.clip(np.sin(np.pi * np.clip(t * 1.25, 0, 1)), 0, 1) ** 1.5 - 0.05 * t + 0.06 * t ** 8)
    inside = (yy <= base_y) & (yy >= base_y - height)
    u = (xx - cx) / np.maximum(radius, 1e-3)  # -1..1 across the body
    alpha = np.clip((1 - np.abs(u)) * radius / 1.2, 0, 1) * inside
    nz = np.sqrt(np.clip(1 - u ** 2, 0, 1))  # surface normal of the cylinder-like body
    nx = u
    lx, ly, lz = -0.55, -0.35, 0.76  # light from the upper left, in front
    lambert = np.clip(nx * lx + nz * lz + 0.15 * ly, 0, 1)
    spec = np.clip(nx * -0.45 + nz * 0.89, 0, 1) ** 60
    glaze = np.stack([178, 52, 38], -1).astype(np.float32)
    bands = 1 - 0.12 * (np.abs(np.sin(t * 18)) > 0.96)  # thin decorative rings
    colour = glaze * (0.18 + 0.9 * lambert * bands)[..., None] + 255 * 0.85 * spec[..., None]
    return alpha.astype(np.float32), colour


def _stems(rng: np.random.Generator, h: int, w: int, cx: float, top_y: float) -> tuple[np.ndarray, np.ndarray]:
    """Thin curved grass stems with seed heads, drawn anti-aliased: fine detail for the edges."""
    alpha = np.zeros((h, w), np.float32)
    shade = np.zeros((h, w), np.float32)
    for _ in range(26):
        angle = rng.uniform(-0.8, 0.8)
        length = rng.uniform(0.22, 0.36) * h
        bend = rng.uniform(-0.35, 0.35)
        s = np.linspace(0, 1, 60)
        x = cx + rng.uniform(-8, 8) * SS + np.sin(angle) * length * s + bend * length * s ** 2 * 0.5
        y = top_y + 6 * SS - np.cos(angle) * length * s
        pts = np.stack([x, y], -1).round().astype(np.int32)
        layer = np.zeros((h, w), np.uint8)
        cv2.polylines(layer, [pts], False, 255, thickness=int(rng.integers(1, 3)) * SS // 2 + 1, lineType=cv2.LINE_AA)
        for k in range(int(rng.integers(3, 9))):  # seed head: small ellipses along the tip
            px, py = pts[-1 - k * 3]
            cv2.ellipse(layer, (int(px), int(py)), (2 * SS, 5 * SS), float(np.degrees(angle)), 0, 360, 255, -1,
                        cv2.LINE_AA)
        a = layer.astype(np.float32) / 255
        alpha = np.maximum(alpha, a)
        shade = np.where(a > 0, rng.uniform(0.75, 1.1), shade)
    colour = np.stack([214, 186, 122], -1).astype(np.float32) * shade[..., None]
    return alpha, colour


def render(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 photo, alpha float32 of the subject) at WIDTH x HEIGHT."""
    rng = np.random.default_rng(seed)
    h, w = HEIGHT * SS, WIDTH * SS
    table_y = int(h * 0.62)
    img = _background(rng, h, w, table_y)
    cx, base_y, vase_h = w * 0.52, h * 0.86, h * 0.46
    # Contact shadow on the table, soft and offset away from the light.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shadow = np.exp(-(((xx - cx - 0.09 * w) / (0.17 * w)) ** 2 + ((yy - base_y) / (0.025 * h)) ** 2))
    img *= (1 - 0.55 * shadow)[..., None]
    stem_a, stem_rgb = _stems(rng, h, w, cx, base_y - vase_h)
    img = img * (1 - stem_a[..., None]) + stem_rgb * stem_a[..., None]
    vase_a, vase_rgb = _vase(h, w, cx, base_y, vase_h)
    img = img * (1 - vase_a[..., None]) + vase_rgb * vase_a[..., None]
    alpha = np.maximum(vase_a, stem_a)
    vignette = 1 - 0.25 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2
    img *= vignette[..., None]
    img = cv2.resize(img, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    img += rng.normal(0, 2.5, img.shape)  # sensor noise
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), alpha


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    rgb, _ = render()
    Image.fromarray(rgb).save(out, format="JPEG", quality=88, optimize=True, progressive=False)
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {WIDTH}x{HEIGHT})")


if __name__ == "__main__":
    main()
