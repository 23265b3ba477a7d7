"""The engine's front door: bytes in, cut-out bytes out, with the sessions held between calls."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from bgremover.config import Settings, load_settings
from bgremover.imaging.compose import compose_cutout, parse_color
from bgremover.imaging.decode import decode_image
from bgremover.imaging.encode import CONTENT_TYPES, encode_image
from bgremover.inference.catalog import Catalog, Preset, load_catalog
from bgremover.inference.registry import SegmenterRegistry
from bgremover.pipeline.recipe import Matte, recipe_of, run_recipe


@dataclass(frozen=True)
class CutoutOptions:
    model: str | None = None  # preset name; None: the default (Catalog.default_preset)
    format: str = "png"
    channels: str = "rgba"  # "rgba" | "alpha"
    crop: bool = False
    crop_margin: int = 0
    bg_color: str | None = None
    lossless: bool = True
    quality: int = 90

    def validate(self) -> None:
        if self.format not in CONTENT_TYPES:
            raise ValueError(f"format must be png or webp, not {self.format!r}")
        if self.channels not in ("rgba", "alpha"):
            raise ValueError(f"channels must be rgba or alpha, not {self.channels!r}")
        if self.crop_margin < 0:
            raise ValueError("crop_margin must be >= 0")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be 1-100, not {self.quality}")
        if self.bg_color is not None:
            parse_color(self.bg_color)


@dataclass
class Cutout:
    data: bytes
    content_type: str
    width: int
    height: int
    model: str
    timings: dict[str, float] = field(default_factory=dict)


class Remover:
    """Holds the catalog and the loaded model sessions; reuse one per process."""

    def __init__(self, settings: Settings | None = None, *, catalog: Catalog | None = None,
                 registry: SegmenterRegistry | None = None) -> None:
        self.settings = settings or load_settings()
        self.catalog = catalog or load_catalog(self.settings.custom_models)
        self.registry = registry or SegmenterRegistry(
            self.catalog, self.settings.model_dir, threads=self.settings.onnx_threads,
            accept_licenses=self.settings.accept_licenses)

    def preset(self, name: str | None) -> Preset:
        """The named preset; None: BGREMOVER_DEFAULT_MODEL, else the catalog's default (one rule, in the catalog)."""
        return self.catalog.preset(name) if name else self.catalog.default_preset(self.settings.default_model)

    def load_models(self, model: str | None = None) -> None:
        """Open every session the preset runs, at the input sizes its recipe asks for: a missing, corrupt or
        unlicensed model is one clear error before any work, and the first photo pays no loading."""
        preset = self.preset(model)
        sizes = recipe_of(preset).input_size
        for model_id in preset.models:
            self.registry.get(model_id, sizes.get(model_id))

    def matte(self, rgb: np.ndarray, model: str | None = None) -> Matte:
        return run_recipe(rgb, self.preset(model), self.registry)

    def remove(self, data: bytes, options: CutoutOptions | None = None, /, **kw: object) -> Cutout:
        # keyword options alone, or on top of an options object
        opts = replace(options, **kw) if options else CutoutOptions(**kw)  # type: ignore[arg-type]
        opts.validate()
        preset = self.preset(opts.model)
        t0 = time.perf_counter()
        img = decode_image(data, max_bytes=self.settings.max_image_bytes, max_pixels=self.settings.max_image_pixels)
        t1 = time.perf_counter()
        m = run_recipe(img.rgb, preset, self.registry)
        alpha = m.alpha
        if img.alpha is not None:  # respect the input's own transparency
            alpha = np.minimum(alpha, img.alpha.astype(np.float32) / 255.0)
        pixels = compose_cutout(m.foreground, alpha, channels=opts.channels, crop=opts.crop,
                                crop_margin=opts.crop_margin, bg_color=opts.bg_color)
        t2 = time.perf_counter()
        out = encode_image(pixels, opts.format, lossless=opts.lossless, quality=opts.quality)
        t3 = time.perf_counter()
        timings = {"decode": t1 - t0, **m.timings, "compose": t2 - t1 - sum(m.timings.values()), "encode": t3 - t2}
        return Cutout(data=out, content_type=CONTENT_TYPES[opts.format], width=pixels.shape[1],
                      height=pixels.shape[0], model=preset.name, timings=timings)


_default: Remover | None = None


def remove(data: bytes, **options: object) -> bytes:
    """One-call API: ``remove(open('in.jpg','rb').read(), model='bg-remover', format='webp')``."""
    global _default
    if _default is None:
        _default = Remover()
    return _default.remove(data, **options).data
