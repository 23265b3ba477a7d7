"""Rich tables in the shape of ``shared/eval/BASELINES.md``: the main table, the by-dataset table,
and the paired per-item comparison (B better / A better / tie per metric, as ``evalcut --compare``)."""
from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from bgremover.evaluation.metrics import LOWER_BETTER
from bgremover.evaluation.runner import EvalResult

MAIN_COLUMNS = (  # (header, section, key, format)
    ("MAE_raw", None, "MAE_raw", ".4f"),
    ("m.MAE", "mask", "MAE", ".4f"),
    ("m.maxF", "mask", "maxF", ".4f"),
    ("m.Sm", "mask", "Sm", ".4f"),
    ("m.wF", "mask", "wF", ".4f"),
    ("a.SAD", "alpha", "SAD", ".1f"),
    ("a.MSE", "alpha", "MSE", ".1f"),
    ("a.Grad", "alpha", "Grad", ".1f"),
    ("holes %", None, "holes", "%"),
    ("ghosts %", None, "ghosts", "%"),
)
LEGEND = ("m. = mask items (MAE, maxF, Sm, wF), a. = alpha items (SAD, MSE x1e3, Grad); holes: GT-opaque "
          "pixels cut below 0.9, ghosts: GT-background kept above 0.1, regions shrunk by 1 % of the diagonal, "
          "mean over items; lower is better except maxF, Sm, wF")
GROUP_CELLS = {"mask": (("MAE", ".3f"), ("maxF", ".3f"), ("Sm", ".3f")),
               "alpha": (("MAE", ".3f"), ("SAD", ".1f"), ("Grad", ".1f"))}


def short_group(name: str) -> str:
    """'SOD (Movahedi & Elder 2010; ...)' -> 'SOD': the manifest's names carry their citation."""
    return name.split(" (")[0].strip() or name


def _fmt(v: Any, spec: str) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.2f}" if spec == "%" else format(v, spec)


def _value(agg: dict[str, Any], section: str | None, key: str) -> Any:
    return agg.get(key) if section is None else agg.get(section, {}).get(key)


def overall_table(results: list[EvalResult], title: str = "overall") -> Table:
    """One row per run, the main table's columns; the best value of each column in bold."""
    aggs = [r.aggregate for r in results]
    t = Table(title=title, title_justify="left", caption=LEGEND, caption_justify="left")
    t.add_column("run", overflow="fold")
    t.add_column("n", justify="right")
    t.add_column("flag", justify="right")
    for header, *_ in MAIN_COLUMNS:
        t.add_column(header, justify="right", no_wrap=True)
    best: dict[str, Any] = {}
    for header, section, key, _ in MAIN_COLUMNS:
        vals = [_value(a, section, key) for a in aggs]
        vals = [v for v in vals if v is not None]
        if len(vals) > 1:
            lower = key in LOWER_BETTER
            best[header] = min(vals) if lower else max(vals)
    for r, a in zip(results, aggs):
        cells = []
        for header, section, key, spec in MAIN_COLUMNS:
            v = _value(a, section, key)
            text = _fmt(v, spec)
            cells.append(f"[bold]{text}[/bold]" if v is not None and best.get(header) == v else text)
        t.add_row(escape(r.label), str(a["n_scored"]), str(a["n_flagged"]), *cells)
    return t


def _group_cell(agg: dict[str, Any]) -> str:
    parts = []
    for section, cells in GROUP_CELLS.items():
        if section in agg:
            parts.append(" / ".join(_fmt(agg[section].get(k), spec) for k, spec in cells))
    return "\n".join(parts) or "-"


def groups_table(results: list[EvalResult]) -> Table | None:
    """One row per group and run; mask groups show MAE / maxF / Sm, alpha groups MAE / SAD / Grad."""
    with_groups = [(r, r.groups) for r in results if r.by]
    if not with_groups:
        return None
    names: list[str] = []
    for _, groups in with_groups:
        names += [g for g in groups if g not in names]
    t = Table(title=f"by {with_groups[0][0].by}", title_justify="left",
              caption="mask: MAE / maxF / Sm; alpha: MAE / SAD / Grad", caption_justify="left")
    t.add_column(with_groups[0][0].by or "group", overflow="fold")
    t.add_column("n", justify="right")
    t.add_column("run", overflow="fold")
    t.add_column("scores", justify="right", no_wrap=True)
    for g in names:
        for i, (r, groups) in enumerate(with_groups):
            if g in groups:
                first_row = i == 0
                t.add_row(escape(short_group(g)) if first_row else "", str(groups[g]["n"]) if first_row else "",
                          escape(r.label), _group_cell(groups[g]), end_section=i == len(with_groups) - 1)
    return t


def comparison_table(label_a: str, label_b: str, comparison: dict[str, Any]) -> Table:
    """Per metric: items where B is better, where A is better, ties (B relative to A)."""
    a, b = escape(label_a), escape(label_b)
    t = Table(title=f"paired, per item: B = {b} vs A = {a} ({comparison['n_common']} items)", title_justify="left")
    t.add_column("metric")
    t.add_column(f"B better ({b})", justify="right")
    t.add_column(f"A better ({a})", justify="right")
    t.add_column("tie", justify="right")
    for key, w in comparison["wins"].items():
        t.add_row(key, str(w["b_better"]), str(w["a_better"]), str(w["tie"]))
    return t


def bootstrap_table(label_a: str, label_b: str, boot: dict[str, Any]) -> Table:
    """Per reported number: the share of paired resamples of the items in which B is better, the
    interval of B - A, and the verdict (better, worse, within noise); then the share of draws in which
    B is better on all eight at once, and whether B earns a higher price than A."""
    a, b = escape(label_a), escape(label_b)
    pct = round(100 * boot.get("level", 0.95))
    t = Table(title=f"paired bootstrap ({boot['resamples']} resamples of {boot.get('n', '?')} items): "
                    f"B = {b} vs A = {a}", title_justify="left",
              caption=f"within noise: the {pct} % interval of B - A reaches zero; too few items: under 5 carry "
                      "the number", caption_justify="left")
    t.add_column("metric")
    t.add_column("P(B better)", justify="right")
    t.add_column(f"B - A, {pct} % interval", justify="right")
    t.add_column("B is", justify="left")
    colours = {"better": "green", "worse": "red"}
    for key, m in boot["metrics"].items():
        scale, unit = (100.0, " pt") if key in ("holes", "ghosts") else (1.0, "")
        v = m["verdict"]
        t.add_row(key, f"{m['p_better']:.2f}", f"[{scale * m['delta_lo']:+.4g}, {scale * m['delta_hi']:+.4g}]{unit}",
                  f"[{colours[v]}]{v}[/{colours[v]}]" if v in colours else v)
    t.add_row("[bold]all eight at once[/bold]", f"[bold]{boot['p_better_all']:.2f}[/bold]", "", "")
    return t


def verdict_line(label_a: str, label_b: str, boot: dict[str, Any]) -> str:
    """One plain sentence: where B is better, worse, or level with A within the noise."""
    by: dict[str, list[str]] = {"better": [], "worse": [], "within noise": [], "too few items": []}
    for key, m in boot["metrics"].items():
        by[m["verdict"]].append(key)
    parts = [f"{v} on {', '.join(keys)}" for v, keys in by.items() if keys]
    return f"{label_b} vs {label_a}: " + "; ".join(parts) + "."
