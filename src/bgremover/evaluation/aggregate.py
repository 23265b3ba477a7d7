"""From per-item rows to set-level numbers, and the paired per-item comparison of two runs.

Same definitions as ``evalcut.py``: means over scored items, except the mask ``maxF``, which is the
max over thresholds of the *mean* F-curve (dataset-level, the standard); ``maxF_img`` is the mean of
the per-item maxima. Rows are plain dicts so the JSON matches the reference scorer's.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from bgremover.evaluation.defects import DEFECT_KEYS
from bgremover.evaluation.metrics import ALPHA_KEYS, MASK_KEYS, is_better

Row = dict[str, Any]
TIE = 1e-12


def _mean(vals: list[float | None]) -> float | None:
    v = [x for x in vals if x is not None]
    return float(np.mean(v)) if v else None


def aggregate(rows: list[Row]) -> dict[str, Any]:
    scored = [r for r in rows if r.get("scored")]
    masks = [r for r in scored if r["kind"] == "mask"]
    alphas = [r for r in scored if r["kind"] == "alpha"]
    agg: dict[str, Any] = {
        "n": len(rows),
        "n_scored": len(scored),
        "n_flagged": sum(1 for r in rows if r.get("flag")),
        "MAE_raw": _mean([r["MAE_raw"] for r in scored]),
        **{k: _mean([r.get(k) for r in scored]) for k in DEFECT_KEYS},
    }
    curves = [r["_fcurve"] for r in masks if "_fcurve" in r]
    if masks and curves:
        mean_curve = np.mean(np.stack(curves), axis=0)
        agg["mask"] = {
            "n": len(masks),
            "MAE": _mean([r["MAE"] for r in masks]),
            "maxF": float(mean_curve.max()),
            "maxF_img": _mean([r["maxF"] for r in masks]),
            "meanF": float(mean_curve.mean()),
            "Sm": _mean([r["Sm"] for r in masks]),
            "wF": _mean([r["wF"] for r in masks]),
        }
    if alphas:
        agg["alpha"] = {"n": len(alphas), **{k: _mean([r[k] for r in alphas]) for k in ALPHA_KEYS}}
    return agg


def aggregate_groups(rows: list[Row]) -> dict[str, dict[str, Any]]:
    """One aggregate per ``group`` value, in order of first appearance."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(str(r.get("group")), []).append(r)
    return {g: aggregate(rs) for g, rs in groups.items()}


def item_keys(kind: str) -> list[str]:
    return ["MAE_raw", *(MASK_KEYS if kind == "mask" else ALPHA_KEYS[:3])]  # the reference scorer's tallies


def compare(rows_a: list[Row], rows_b: list[Row]) -> dict[str, Any]:
    """B relative to A, item by item: for each metric, how many items B wins, A wins, or tie."""
    ia = {r["name"]: r for r in rows_a if r.get("scored")}
    ib = {r["name"]: r for r in rows_b if r.get("scored")}
    common = [n for n in ia if n in ib]
    items: list[Row] = []
    wins: dict[str, dict[str, int]] = {}
    for n in common:
        a, b = ia[n], ib[n]
        row: Row = {"name": n, "kind": a["kind"]}
        for k in item_keys(a["kind"]):
            if a.get(k) is None or b.get(k) is None:
                continue
            d = b[k] - a[k]
            row[k] = {"a": a[k], "b": b[k], "delta": d}
            t = wins.setdefault(k, {"b_better": 0, "a_better": 0, "tie": 0})
            if abs(d) < TIE:
                t["tie"] += 1
            elif is_better(k, d):
                t["b_better"] += 1
            else:
                t["a_better"] += 1
        items.append(row)
    return {"n_common": len(common), "wins": wins, "items": items}


HEADLINE = ("MAE_raw", "mask MAE", "maxF", "Sm", "wF", "SAD", "MSE", "Grad")  # BASELINES.md's main table
REPORTED = (*HEADLINE, *DEFECT_KEYS)  # the headline numbers and what customers see first
MIN_ITEMS = 5  # fewer items with a value than this: no interval is believed, the verdict is "too few items"


def _headline(rows: list[Row], weights: np.ndarray) -> dict[str, np.ndarray]:
    """The eight set-level numbers of ``rows`` under each row of item ``weights`` (resamples x items)."""
    def mean_of(key: str, kind: str | None) -> np.ndarray:
        # an item without a value (wF of an empty mask) counts as the reference scorer's mean counts it: not at all
        keep = np.array([(kind is None or r["kind"] == kind) and r.get(key) is not None for r in rows])
        vals = np.array([r[key] if keep[i] else 0.0 for i, r in enumerate(rows)], dtype=np.float64)
        w = weights * keep
        with np.errstate(invalid="ignore", divide="ignore"):
            return (w @ vals) / w.sum(axis=1)

    out = {"MAE_raw": mean_of("MAE_raw", None)}
    out.update({k: mean_of(k, None) for k in DEFECT_KEYS if any(r.get(k) is not None for r in rows)})
    if any(r["kind"] == "mask" for r in rows):
        out.update({"mask MAE": mean_of("MAE", "mask"), "Sm": mean_of("Sm", "mask"), "wF": mean_of("wF", "mask")})
        curves = np.stack([r["_fcurve"] if r["kind"] == "mask" else np.zeros(256) for r in rows])
        w = weights * np.array([r["kind"] == "mask" for r in rows])
        with np.errstate(invalid="ignore", divide="ignore"):
            out["maxF"] = ((w @ curves) / w.sum(axis=1, keepdims=True)).max(axis=1)
    if any(r["kind"] == "alpha" for r in rows):
        out.update({k: mean_of(k, "alpha") for k in ("SAD", "MSE", "Grad")})
    return out


def bootstrap(rows_a: list[Row], rows_b: list[Row], resamples: int = 1000, seed: int = 0,
              level: float = 0.95) -> dict[str, Any]:
    """How sure "B beats A" is on a set this small: the items are drawn again with replacement
    ``resamples`` times (the same draw for both runs: a paired bootstrap). For each reported number:
    the share of draws in which B's set-level value is better, the ``level`` interval of B - A
    (percentiles of the draws), and a plain verdict: ``better`` or ``worse`` when the interval
    lies wholly on one side of zero, else ``within noise`` (identical runs: [0, 0], within noise);
    ``too few items`` when fewer than ``MIN_ITEMS`` items carry the number (one alpha matte's
    resamples all give the same difference: a zero-width interval that proves nothing).
    ``all`` is the share of draws in which B is better on every headline number at once. A draw
    without an item of a kind (no alpha matte, say) cannot show B better on that kind's numbers."""
    ia = {r["name"]: r for r in rows_a if r.get("scored")}
    ib = {r["name"]: r for r in rows_b if r.get("scored") and r["name"] in ia}
    names = [n for n in ia if n in ib]
    if len(names) < 2:
        return {}
    a, b = [ia[n] for n in names], [ib[n] for n in names]
    draws = np.random.default_rng(seed).integers(0, len(names), size=(resamples, len(names)))
    weights = np.stack([np.bincount(d, minlength=len(names)) for d in draws]).astype(np.float64)
    ha, hb = _headline(a, weights), _headline(b, weights)
    metrics: dict[str, Any] = {}
    every = np.ones(resamples, bool)
    tail = 50.0 * (1.0 - level)
    for key in REPORTED:
        if key not in ha or key not in hb:
            continue
        delta = hb[key] - ha[key]
        # as in ``compare``: a difference under TIE is a tie; NaN (no item of the kind drawn) is not better
        better = is_better(key.removeprefix("mask "), delta) & (np.abs(delta) >= TIE)
        if key in HEADLINE:
            every &= better
        lo, hi = (float(x) for x in np.nanpercentile(delta, [tail, 100.0 - tail]))
        n = _carrying(a, b, key)
        metrics[key] = {"p_better": float(better.mean()), "delta_lo": lo, "delta_hi": hi, "n": n,
                        "verdict": verdict(key, lo, hi) if n >= MIN_ITEMS else "too few items"}
    return {"resamples": resamples, "seed": seed, "level": level, "n": len(names), "metrics": metrics,
            "p_better_all": float(every.mean()), **ladder(metrics)}


def _carrying(a: list[Row], b: list[Row], key: str) -> int:
    """How many paired items carry ``key`` in both runs (the mask numbers: only mask items)."""
    item_key = {"mask MAE": "MAE", "maxF": "_fcurve"}.get(key, key)
    kind = "mask" if key in ("mask MAE", "maxF", "Sm", "wF") else "alpha" if key in ("SAD", "MSE", "Grad") else None
    return sum(1 for x, y in zip(a, b) if (kind is None or x["kind"] == kind)
               and x.get(item_key) is not None and y.get(item_key) is not None)


def verdict(key: str, lo: float, hi: float) -> str:
    """``better`` / ``worse`` (for B) when the interval of B - A excludes zero, else ``within noise``."""
    if lo < TIE and hi > -TIE:  # the interval reaches zero
        return "within noise"
    return "better" if is_better(key.removeprefix("mask "), lo) else "worse"


def ladder(metrics: dict[str, Any]) -> dict[str, Any]:
    """The price rule for B costing more than A: worse on no number, holes and ghosts included (a paid
    preset must not add holes), beyond the noise; and better on most of the headline numbers."""
    head = {k: m["verdict"] for k, m in metrics.items() if k in HEADLINE}
    worse = [k for k, m in metrics.items() if m["verdict"] == "worse"]
    better = [k for k, v in head.items() if v == "better"]
    return {"worse_on": worse, "better_on": better,
            "earns_its_price": not worse and len(better) > len(head) / 2}


def strip_private(obj: Any) -> Any:
    """Drop ``_``-prefixed intermediates (F-curves) and numpy scalars, for JSON."""
    if isinstance(obj, dict):
        return {k: strip_private(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [strip_private(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj
