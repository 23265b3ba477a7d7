"""Model names as the service reads them: one rule each for the default, availability, licence, price and options.

Every caller that takes a model name from a user asks :class:`ModelCatalog` (the remove-bg route and the
console through ``service/submission.py``, ``GET /api/v1/models``, the /models panel, ``/readyz`` and the CLI).
The catalog itself is inference-layer data (``inference/catalog.toml``); this module only reads it and the
model directory, and never loads a model: the API process never runs one.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bgremover.config import Settings
from bgremover.errors import LicenseNotAccepted, ModelError, ModelNotAvailable, UnknownModel
from bgremover.inference.catalog import Catalog, ModelSpec, Preset, load_catalog
from bgremover.service.errors import ProviderNotAllowed, ValidationFailed

if TYPE_CHECKING:
    from bgremover.pipeline.remover import CutoutOptions
    from bgremover.providers import ProvidersConfig

LICENCE_SETTING = "BGREMOVER_ACCEPT_LICENSES"


@dataclass(frozen=True)
class ModelStatus:
    """A public model as this endpoint offers it."""

    preset: Preset
    default: bool
    problem: ModelError | None  # why it cannot run here (licence, weights); None: available

    @property
    def available(self) -> bool:
        return self.problem is None


def licence_opt_in(spec: ModelSpec) -> str:
    """The exact setting that allows ``spec``'s weights, for messages: ``BGREMOVER_ACCEPT_LICENSES=agpl-3.0``."""
    return f"{LICENCE_SETTING}={spec.licence_key}"


class ModelCatalog:
    """The catalog and the model directory of one process, as the submit policy and the listings read them."""

    def __init__(self, settings: Settings, catalog: Catalog | None = None) -> None:
        self.settings = settings
        self.catalog = catalog or load_catalog(settings.custom_models)

    @property
    def default_name(self) -> str:
        """BGREMOVER_DEFAULT_MODEL when it names a preset, else the catalog's ``default = true`` preset."""
        return self.catalog.default_preset(self.settings.default_model).name

    def specs(self, preset: Preset) -> list[ModelSpec]:
        return [self.catalog.model(m) for m in preset.models]

    def licence_accepted(self, spec: ModelSpec) -> bool:
        return spec.licence_accepted(self.settings.accept_licenses)

    def is_fetched(self, spec: ModelSpec) -> bool:
        """The weights' file is there; cheap (no hashing): a corrupt file shows up as ModelCorrupt at load."""
        return spec.file_path(self.settings.model_dir).is_file()

    def problem(self, preset: Preset) -> ModelError | None:
        """Why ``preset`` cannot run on this endpoint (the licence first: fetched weights may still be refused)."""
        for spec in self.specs(preset):
            if not self.licence_accepted(spec):
                return LicenseNotAccepted(
                    f"model {preset.name} runs {spec.licence} weights ({spec.id}), which this endpoint's operator "
                    f"has not accepted; to serve it, set {licence_opt_in(spec)}")
        missing = [spec.id for spec in self.specs(preset) if not self.is_fetched(spec)]
        if missing:
            return ModelNotAvailable(f"model {preset.name} is not installed on this endpoint (operator: bgremover "
                                     f"models fetch {' '.join(missing)})")
        return None

    @cached_property
    def providers(self) -> ProvidersConfig:
        """The operator's providers and routes (docs/providers.md), without their keys: this process only reads
        names, routes and pins; the workers, which call the upstreams, read the keys."""
        from bgremover.providers import load_providers

        return load_providers(self.settings.providers, fetch_allowlist=self.settings.fetch_allowlist,
                              known_models=list(self.catalog.presets), with_keys=False)

    def check_pin(self, model: str, provider: str) -> None:
        """A request may name a provider only where the operator made it ``pinnable`` and it serves the model."""
        config = self.providers
        spec = config.providers.get(provider)
        serving = [s.name for s in config.route(model)]
        offered = ", ".join(n for n in serving if config.providers[n].pinnable) or "none"
        if spec is None or not spec.pinnable or provider not in serving:
            raise ProviderNotAllowed(f"provider {provider!r} cannot be chosen for model {model} on this endpoint; "
                                     f"providers that can: {offered}")

    def default_problem(self) -> ModelError | None:
        """Why the default preset cannot run on this endpoint, or None."""
        return self.problem(self.catalog.preset(self.default_name))

    def statuses(self) -> list[ModelStatus]:
        """Every public model, cheapest first (the order of ``GET /api/v1/models`` and the /models panel)."""
        default = self.default_name
        return [ModelStatus(p, p.name == default, self.problem(p)) for p in self.catalog.presets_by_credits()]

    def resolve(self, name: str | None) -> Preset:
        """The preset to run for a request's ``model`` (None: the default), or the error that refuses it.

        UnknownModel names only the models this endpoint can run; LicenseNotAccepted and ModelNotAvailable
        say why a known one cannot run here. The preset's ``credits`` is the task's price.
        """
        preset = self.catalog.presets.get(name or self.default_name)
        if preset is None:
            available = ", ".join(s.preset.name for s in self.statuses() if s.available) or "none"
            raise UnknownModel(f"unknown model {name!r}; available: {available}")
        problem = self.problem(preset)
        if problem is not None:
            raise problem
        return preset


def validated_options(preset: Preset, output_format: str, options: dict[str, Any]) -> CutoutOptions:
    """The cut-out options of a request, checked now (a bad one is refused before anything is charged)."""
    from bgremover.pipeline.remover import CutoutOptions  # numpy and Pillow: not for `bgremover models list`

    opts = CutoutOptions(model=preset.name, format=output_format, **options)
    try:
        opts.validate()
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    return opts


def option_problem(output_format: str, options: dict[str, Any]) -> str | None:
    """What is wrong with a request's cut-out options, in the pipeline's words, or None: for protocols (remove.bg's)
    that name the offending parameter themselves."""
    from bgremover.pipeline.remover import CutoutOptions

    try:
        CutoutOptions(format=output_format, **options).validate()
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None
