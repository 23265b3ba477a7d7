"""An upstream's cut-out, checked before anyone is charged, then finished here with the task's own options.

Every upstream is asked for the same thing, a full-size RGBA PNG of the photo; its answer must decode, be
exactly the photo's (upright) size, and carry an alpha channel. Anything else is the upstream's fault and
worth trying the next provider for: a truncated body, an HTML error page with a 200, a preview-sized image.
The options the client chose (channels, crop, background colour, format) are then applied here by the same
compose and encode code the local pipeline uses, so one task's output does not depend on who served it.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from PIL import Image

from bgremover.errors import InvalidImage
from bgremover.imaging.compose import ForegroundBox, compose_cutout, foreground_box
from bgremover.imaging.decode import DecodedImage, decode_image, sniff_format
from bgremover.imaging.encode import CONTENT_TYPES, encode_image
from bgremover.pipeline.remover import CutoutOptions
from bgremover.providers.errors import ClientInputError, UpstreamUnavailable

_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


@dataclass(frozen=True)
class ProviderResult:
    data: bytes
    content_type: str
    width: int
    height: int
    provider: str = ""
    upstream_cost: float = 0.0  # what the upstream charges us for this image, in our credits
    latency_s: float = 0.0  # the upstream round trip (or the local run)
    foreground_box: ForegroundBox | None = None  # the subject's box in the result, measured before compose


@dataclass
class PreparedInput:
    """The client's image, decoded at most once and only when a remote provider needs its size."""

    data: bytes
    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 36_000_000
    content_type: str = field(init=False, default="application/octet-stream")

    def __post_init__(self) -> None:
        fmt = sniff_format(self.data)
        self.content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}.get(fmt or "",
                                                                                             self.content_type)

    @cached_property
    def decoded(self) -> DecodedImage:
        """Upright pixels; the client's own bad image raises ClientInputError here, before any upstream is paid."""
        try:
            return decode_image(self.data, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        except InvalidImage as exc:
            raise ClientInputError(exc.message, code=exc.code) from None

    def check(self) -> None:
        """Decode now (once): the client's bad image raises ClientInputError before any provider is paid."""
        self.decoded  # noqa: B018 - the cached decode is the check

    @property
    def filename(self) -> str:
        return "image." + self.content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")


def check_cutout(body: bytes, expect: PreparedInput, provider: str) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb, alpha uint8)`` of a valid upstream cut-out, else UpstreamUnavailable(reason="bad_result")."""
    fmt = sniff_format(body)
    if fmt not in ("PNG", "WEBP"):
        raise UpstreamUnavailable(f"{provider}: answered a body that is not a PNG or WebP image", reason="bad_result")
    try:
        mode = Image.open(io.BytesIO(body)).mode  # the header only: which channels the file declares
        has_alpha = mode in _ALPHA_MODES or (mode == "P" and b"tRNS" in body[:4096])
        got = decode_image(body, max_bytes=len(body), max_pixels=expect.max_pixels * 2)
    except (InvalidImage, OSError, ValueError, SyntaxError):
        raise UpstreamUnavailable(f"{provider}: answered a truncated or undecodable image",
                                  reason="bad_result") from None
    want = expect.decoded
    if (got.width, got.height) != (want.width, want.height):
        raise UpstreamUnavailable(f"{provider}: answered {got.width}x{got.height}, the photo is "
                                  f"{want.width}x{want.height}", reason="bad_result")
    if not has_alpha:
        raise UpstreamUnavailable(f"{provider}: answered an image without an alpha channel", reason="bad_result")
    alpha = got.alpha if got.alpha is not None else np.full((got.height, got.width), 255, np.uint8)
    if want.alpha is not None:  # respect the input's own transparency, as the local pipeline does
        alpha = np.minimum(alpha, want.alpha)
    return got.rgb, alpha


def finished_here(options: CutoutOptions) -> bool:
    """Whether :func:`finish_cutout` applies every option of the task to an upstream's full-size cut-out. The
    rest (a region of interest, a size cap, framing, a hard matte, a background photo, JPEG/ZIP/auto formats)
    only our pipeline applies, so such a task runs on ``local`` (``service/cutouts.py``)."""
    return (options.format in ("png", "webp") and isinstance(options.crop_margin, int) and options.semitransparency
            and not (options.roi or options.max_megapixels or options.scale or options.position or options.bg_image))


def finish_cutout(rgb: np.ndarray, alpha: np.ndarray, options: CutoutOptions, *, provider: str,
                  upstream_cost: float, latency_s: float) -> ProviderResult:
    """The client's options applied to a checked cut-out. The subject's box is measured on the matte with the
    same crop, before a background colour can hide it."""
    alpha_f = alpha.astype(np.float32) / np.float32(255.0)
    pixels = compose_cutout(rgb, alpha_f, channels=options.channels, crop=options.crop,
                            crop_margin=options.crop_margin, bg_color=options.bg_color)
    matte = compose_cutout(rgb, alpha_f, channels="alpha", crop=options.crop, crop_margin=options.crop_margin)
    data = encode_image(pixels, options.format, lossless=options.lossless, quality=options.quality)
    return ProviderResult(data, CONTENT_TYPES[options.format], int(pixels.shape[1]), int(pixels.shape[0]), provider,
                          upstream_cost, latency_s, foreground_box(matte))
