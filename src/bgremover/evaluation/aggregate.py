"""From per-item rows to set-level numbers, and the paired per-item comparison of two runs.

Same definitions as ``evalcut.py``: means over scored items, except the mask ``maxF``, which is the
max over thresholds of the *mean* F-curve (dataset-level, the standard); ``maxF_img`` is the mean of
the per-item maxima. Rows are plain dicts so the JSON matches the reference scorer's.
"""
from __future__ import annotations

from typing import Any

import numpy as np

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
    return ["MAE_raw", *(MASK_KEYS if kind == "mask" else ALPHA_KEYS[:3])]


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


def strip_private(obj: Any) -> Any:
    """Drop ``_``-prefixed intermediates (F-curves) and numpy scalars, for JSON."""
    if isinstance(obj, dict):
        return {k: strip_private(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [strip_private(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj
