"""A preset's measured figures as a buyer reads them: quality in words and one number (how many of the
measures beat one peer's, measured on the same set), speed in seconds per 1 MP photo, and a human label for
every raw key the catalog stores (``alpha_MSE_e3`` is "Alpha MSE (×10⁻³)").

The peer is the catalog's first ``[baselines.*]`` table (rembg u2net), so every preset is read against the
same ruler; which direction is better comes from that table (``higher_is_better``), not from key names.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SPEED_SUFFIX = "_1mp_s"  # the bench's seconds per 1 MP photo, e.g. cpu_2core_1mp_s

LABELS = {
    "set": "Evaluation set",
    "MAE_raw": "Alpha error, all photos (MAE)",
    "mask_MAE": "Mask error (MAE)",
    "mask_maxF": "Mask max F-measure",
    "mask_Sm": "Mask structure (S-measure)",
    "mask_wF": "Mask weighted F-measure",
    "alpha_SAD": "Alpha sum of errors (SAD)",
    "alpha_MSE_e3": "Alpha squared error (MSE ×10⁻³)",
    "alpha_Grad": "Alpha gradient error",
    "cpu_2core_1mp_s": "Seconds per 1 MP photo, 2-core CPU",
    "cpu_2core_4mp_s": "Seconds per 4 MP photo, 2-core CPU",
    "speed_vs_rembg_u2net_1mp": "Speed vs rembg u2net at 1 MP (×, higher is faster)",
    "speed_vs_bg_remover_hq_1mp": "Speed vs bg-remover-hq at 1 MP (×, higher is faster)",
    "peak_rss_1mp_mb": "Peak memory at 1 MP (MB)",
}


def label(key: str) -> str:
    """The human name of a raw figure; an unknown key (a custom preset's) reads as its words."""
    return LABELS.get(key) or key.replace("_", " ").capitalize()


@dataclass(frozen=True)
class QualityVerdict:
    peer: str  # "rembg u2net"
    better: int  # measures on which this preset beats the peer
    measures: int  # measures both have
    set: str | None  # the evaluation set both were measured on

    @property
    def words(self) -> str:
        if self.better == self.measures:
            return f"Better than {self.peer} on every measure"
        if 2 * self.better > self.measures:
            return f"Better than {self.peer} on most measures"
        if 2 * self.better == self.measures:
            return f"Level with {self.peer}"
        return f"Behind {self.peer} on most measures"

    @property
    def number(self) -> str:
        return f"better on {self.better} of {self.measures} measures"


@dataclass(frozen=True)
class Figure:
    key: str  # the raw key, as the catalog and GET /api/v1/models carry it
    label: str
    value: float | str


@dataclass(frozen=True)
class ModelFacts:
    quality: QualityVerdict | None  # None: not measured on the baseline's set
    seconds_per_mp: float | None  # None: not benchmarked
    speed_key: str | None


def _numbers(d: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def quality_verdict(quality: Mapping[str, Any] | None,
                    baselines: Mapping[str, Mapping[str, Any]]) -> QualityVerdict | None:
    """How many measures beat the first baseline's; None when nothing comparable was measured."""
    if not quality or not baselines:
        return None
    name, base = next(iter(baselines.items()))
    theirs = _numbers(base.get("quality", {}))
    ours = _numbers(quality)
    if base.get("quality", {}).get("set") not in (None, quality.get("set")):
        return None  # measured on another set: not comparable
    common = [k for k in theirs if k in ours]
    if not common:
        return None
    higher = set(base.get("higher_is_better", ()))
    better = sum(ours[k] > theirs[k] if k in higher else ours[k] < theirs[k] for k in common)
    return QualityVerdict(str(base.get("label", name)), better, len(common), quality.get("set"))


def model_facts(quality: Mapping[str, Any] | None, latency: Mapping[str, Any] | None,
                baselines: Mapping[str, Mapping[str, Any]]) -> ModelFacts:
    speed_key = next((k for k, v in (latency or {}).items()
                      if k.endswith(SPEED_SUFFIX) and isinstance(v, (int, float))), None)
    return ModelFacts(quality_verdict(quality, baselines),
                      float(latency[speed_key]) if latency and speed_key else None, speed_key)
