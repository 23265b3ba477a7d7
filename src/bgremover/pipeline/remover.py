"""The engine's front door: bytes in, cut-out bytes out, with the sessions held between calls."""
from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field, replace

import numpy as np

from bgremover.config import Settings, load_settings
from bgremover.imaging.background import ZIP_CONTENT_TYPE, encode_color_alpha_zip, over_image
from bgremover.imaging.compose import ForegroundBox, compose_cutout, foreground_box, parse_color, to_alpha8
from bgremover.imaging.decode import decode_image
from bgremover.imaging.encode import CONTENT_TYPES, encode_image
from bgremover.imaging.layout import parse_margins, parse_position, parse_roi, parse_scale, roi_box
from bgremover.inference.catalog import Catalog, Preset, load_catalog
from bgremover.inference.registry import SegmenterRegistry
from bgremover.pipeline.framing import lay_out, matte_within, shrink
from bgremover.pipeline.recipe import Matte, recipe_of, run_recipe

FORMATS = ("png", "webp", "jpg", "zip", "auto")  # auto: PNG when the result has transparency, else JPEG


@dataclass(frozen=True)
class CutoutOptions:
    model: str | None = None  # preset name; None: the default (Catalog.default_preset)
    format: str = "png"  # one of FORMATS; zip: color.jpg + alpha.png
    channels: str = "rgba"  # "rgba" | "alpha"
    crop: bool = False
    crop_margin: int | str = 0  # pixels, or one/two/four lengths ("30px", "10%" of the subject)
    bg_color: str | None = None
    lossless: bool = True
    quality: int = 90
    max_megapixels: float | None = None  # the output is shrunk to at most this (never enlarged)
    roi: str | None = None  # "x1 y1 x2 y2" in px or %: only this region can be foreground
    scale: str | None = None  # "10%".."100%": the subject's box fills this share of the canvas
    position: str | None = None  # "original", "center", "X%" or "X% Y%": where the subject's box goes
    semitransparency: bool = True  # False: every pixel fully opaque or fully transparent
    bg_image: bytes | str | None = None  # a background photo's bytes (or base64 of them, as a task stores it)

    def validate(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.channels not in ("rgba", "alpha"):
            raise ValueError(f"channels must be rgba or alpha, not {self.channels!r}")
        if isinstance(self.crop_margin, str):
            parse_margins(self.crop_margin)
        elif self.crop_margin < 0:
            raise ValueError("crop_margin must be >= 0")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be 1-100, not {self.quality}")
        if self.bg_color is not None:
            parse_color(self.bg_color)
        if self.max_megapixels is not None and self.max_megapixels <= 0:
            raise ValueError("max_megapixels must be > 0")
        for text, parse in ((self.roi, parse_roi), (self.scale, parse_scale), (self.position, parse_position)):
            if text is not None:
                parse(text)
        if self.crop and (self.scale or self.position):
            raise ValueError("crop cannot be combined with scale or position (a cropped canvas has no free space)")
        if self.bg_color and self.bg_image:
            raise ValueError("give a background colour or a background image, not both")
        if self.format == "zip" and self.channels == "alpha":
            raise ValueError("the zip format holds colour and alpha; with channels=alpha ask for png")

    def background_bytes(self) -> bytes | None:
        if isinstance(self.bg_image, str):
            return base64.b64decode(self.bg_image, validate=True)
        return self.bg_image


@dataclass(repr=False)
class Cutout:
    data: bytes
    content_type: str
    width: int
    height: int
    model: str
    timings: dict[str, float] = field(default_factory=dict)
    # the subject's box in the output, measured on its matte before a background hides it; None: not known
    foreground_box: ForegroundBox | None = None

    def __repr__(self) -> str:  # short: the default would print every byte of the image
        return (f"Cutout({self.content_type} {self.width}x{self.height}, {len(self.data):,} bytes, "
                f"model={self.model!r})")


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
        roi = roi_box(opts.roi, img.width, img.height) if opts.roi else None
        rgb, own_alpha, roi = shrink(img.rgb, img.alpha, roi, opts.max_megapixels)
        t1 = time.perf_counter()
        m = matte_within(rgb, roi, preset, self.registry)
        alpha = m.alpha if opts.semitransparency else (m.alpha >= 0.5).astype(np.float32)
        if own_alpha is not None:  # respect the input's own transparency
            alpha = np.minimum(alpha, own_alpha.astype(np.float32) / 255.0)
        fg, alpha = lay_out(m.foreground, alpha, crop=opts.crop, crop_margin=opts.crop_margin, scale=opts.scale,
                            position=opts.position)
        fmt, pixels = self._compose(fg, alpha, opts)
        alpha8 = to_alpha8(alpha)  # the matte a transparent result stores
        t2 = time.perf_counter()
        if fmt == "zip":
            out = encode_color_alpha_zip(np.ascontiguousarray(pixels[..., :3]), alpha8)
        else:
            out = encode_image(pixels, fmt, lossless=opts.lossless, quality=opts.quality)
        t3 = time.perf_counter()
        timings = {"decode": t1 - t0, **m.timings, "compose": t2 - t1 - sum(m.timings.values()), "encode": t3 - t2}
        return Cutout(data=out, content_type=CONTENT_TYPES.get(fmt, ZIP_CONTENT_TYPE), width=pixels.shape[1],
                      height=pixels.shape[0], model=preset.name, timings=timings,
                      foreground_box=foreground_box(alpha8))

    def _compose(self, fg: np.ndarray, alpha: np.ndarray, opts: CutoutOptions) -> tuple[str, np.ndarray]:
        """The format to write (auto resolved) and the output pixels (for zip: the colour half)."""
        background = opts.background_bytes()
        if background is not None and opts.channels == "rgba":
            pixels = over_image(fg, alpha, background, max_bytes=self.settings.max_image_bytes,
                                max_pixels=self.settings.max_image_pixels)
        else:
            on_white = opts.format == "jpg" and opts.channels == "rgba" and not opts.bg_color  # JPEG has no alpha
            fill = "#ffffff" if on_white else opts.bg_color
            pixels = compose_cutout(fg, alpha, channels=opts.channels, bg_color=fill)
        if opts.format == "zip":
            return "zip", pixels
        fmt = opts.format
        if fmt == "auto":
            fmt = "jpg" if pixels.ndim == 3 and pixels.shape[2] == 3 else "png"
        if fmt == "jpg" and pixels.ndim == 3 and pixels.shape[2] == 4:  # a see-through colour: JPEG shows white
            pixels = compose_cutout(pixels[..., :3], pixels[..., 3] / np.float32(255), bg_color="#ffffff")
        return fmt, pixels


_default: Remover | None = None


def remove(data: bytes, **options: object) -> bytes:
    """One-call API: ``remove(open('in.jpg','rb').read(), model='bg-remover', format='webp')``."""
    global _default
    if _default is None:
        _default = Remover()
    return _default.remove(data, **options).data
