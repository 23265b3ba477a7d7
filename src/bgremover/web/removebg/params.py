"""remove.bg's request parameters → our task options. Every parameter remove.bg documents is either honoured or
refused with a 400 that names it; an unknown parameter is refused too, so nothing is ever silently ignored.

The mapping, with what each one does here, is the table in docs/compatibility.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import ImageColor

from bgremover.service.errors import ValidationFailed
from bgremover.service.models import option_problem

# size → the output's megapixel cap (None: the photo's own size, within BGREMOVER_MAX_IMAGE_PIXELS)
SIZES: dict[str, float | None] = {"preview": 0.25, "small": 0.25, "regular": 0.25, "medium": 1.5, "hd": 4.0,
                                  "full": None, "4k": None, "50mp": None, "auto": None}
TYPES = ("auto", "person", "product", "car", "animal", "graphic", "transportation")
TYPE_LEVELS = ("none", "1", "2", "latest")
FORMATS = ("auto", "png", "jpg", "webp", "zip")
SOURCES = ("image_file", "image_file_b64", "image_url")
BACKGROUNDS = ("bg_color", "bg_image_url", "bg_image_file")
OPTIONS = ("size", "type", "type_level", "format", "roi", "crop", "crop_margin", "scale", "position", "channels",
           "add_shadow", "semitransparency", "shadow_type", "shadow_opacity", *BACKGROUNDS[:2])
ACCEPTED = frozenset(SOURCES + OPTIONS)  # bg_image_file arrives as a file part, not a field
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@dataclass(frozen=True)
class Translated:
    options: dict[str, Any]  # CutoutOptions fields, JSON-serialisable: what the task stores
    output_format: str
    type_hint: str | None  # the X-Type header, None when type_level=none asks for no classification
    bg_image_url: str | None = None  # fetched by the route (SSRF-safe), then stored in options["bg_image"]


def _choice(fields: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(fields.get(name, default)).strip().lower()
    if value not in allowed:
        raise ValidationFailed(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _flag(fields: dict[str, Any], name: str, default: bool) -> bool:
    value = fields.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE or text in FALSE:
        return text in TRUE
    raise ValidationFailed(f"{name}: {value!r} is not true or false")


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValidationFailed(f"{name}: expected a string")
    return str(value).strip() or None


def hex_color(text: str) -> str:
    """remove.bg's bg_color: hex with or without '#' (3, 4, 6 or 8 digits) or a colour name such as 'green'."""
    t = text.strip()
    digits = t.lstrip("#")
    if len(digits) in (3, 4, 6, 8) and all(c in "0123456789abcdefABCDEF" for c in digits):
        return "#" + digits
    try:
        r, g, b = ImageColor.getrgb(t)[:3]
    except ValueError:
        raise ValidationFailed(f"bg_color: {text!r} is not a hex colour (81d4fa, fff, 81d4fa77) nor a colour "
                               "name") from None
    return f"#{r:02x}{g:02x}{b:02x}"


def _refuse_unsupported(fields: dict[str, Any]) -> None:
    if _flag(fields, "add_shadow", False):
        raise ValidationFailed("add_shadow: shadows are not supported by this server; send add_shadow=false")
    shadow = _text(fields, "shadow_type")
    if shadow and shadow.lower() != "none":
        raise ValidationFailed(f"shadow_type: {shadow!r} is not supported by this server; only 'none'")
    if _text(fields, "shadow_opacity") is not None:
        raise ValidationFailed("shadow_opacity: shadows are not supported by this server")


def translate(fields: dict[str, Any], *, has_bg_file: bool) -> Translated:
    """The task options for remove.bg's ``fields`` (form strings or JSON values), checked the way the worker
    will check them, so a bad value is a 400 now and never a failed (refunded) task later."""
    unknown = sorted(set(fields) - ACCEPTED)
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: unknown parameter (see docs/compatibility.md for what is supported)")
    _refuse_unsupported(fields)
    size = _choice(fields, "size", tuple(SIZES), "preview")
    kind = _choice(fields, "type", TYPES, "auto")
    level = _choice(fields, "type_level", TYPE_LEVELS, "1")
    fmt = _choice(fields, "format", FORMATS, "auto")
    bg_color, bg_url = _text(fields, "bg_color"), _text(fields, "bg_image_url")
    if sum(x is not None and x is not False for x in (bg_color, bg_url, has_bg_file)) > 1:
        raise ValidationFailed("bg_color, bg_image_url and bg_image_file: give at most one of them")
    scale, position = _text(fields, "scale"), _text(fields, "position")
    if scale and scale.lower() != "original" and not position:
        position = "center"  # remove.bg: scaling the subject implies position=center unless given
    options: dict[str, Any] = {
        "channels": _choice(fields, "channels", ("rgba", "alpha"), "rgba"),
        "crop": _flag(fields, "crop", False),
        "crop_margin": _text(fields, "crop_margin") or 0,
        "bg_color": hex_color(bg_color) if bg_color else None,
        "max_megapixels": SIZES[size],
        "roi": _text(fields, "roi"),
        "scale": scale,
        "position": position,
        "semitransparency": _flag(fields, "semitransparency", True),
    }
    options = {k: v for k, v in options.items() if v is not None}
    if (problem := option_problem(fmt, options)) is not None:
        raise ValidationFailed(_named(problem, options))
    type_hint = None if level == "none" else ("other" if kind == "auto" else kind)
    return Translated(options=options, output_format=fmt, type_hint=type_hint, bg_image_url=bg_url)


def _named(message: str, options: dict[str, Any]) -> str:
    """The pipeline's message, prefixed with the remove.bg parameter it is about when that is not obvious."""
    for name in ("roi", "scale", "position", "crop_margin", "bg_color"):
        value = options.get(name)
        if value is not None and str(value) in message and not message.startswith(name):
            return f"{name}: {message}"
    return message
