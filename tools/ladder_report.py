"""The README's issue-17 tables from cached maps: each labelled variant and reproduced peer on a fold, by
dataset, and the paired bootstrap of chosen pairs (B vs A), as markdown.

``tools/sweep_maps.py score`` judges every variant against the first; a price ladder needs other pairs
(each preset against the next cheaper one and the peers). The variants, peers and pairs are a JSON file
(``tools/ladder/*.json``); map caches are ``CACHE_ROOT/<cache>`` as ``sweep_maps.py cache`` wrote them.
Only items with every needed map cached are scored (a cache still being filled)::

    .venv/bin/python tools/ladder_report.py tools/ladder/dev-large-apache.json --cache-root /tmp/g17 \\
        --peers-json ../shared/eval/dev-large/peers.json
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from bgremover.evaluation.aggregate import Row, aggregate, aggregate_groups, bootstrap
from bgremover.evaluation.report import short_group

_spec = importlib.util.spec_from_file_location("sweep_maps", Path(__file__).with_name("sweep_maps.py"))
sweep = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sweep)  # type: ignore[union-attr]

KEYS = ("MAE_raw", "mask MAE", "maxF", "Sm", "wF", "SAD", "MSE", "Grad", "holes", "ghosts")
FORMATS = (".4f",) * 5 + (".1f",) * 3 + ("%", "%")
MARK = {"better": "**+**", "worse": "**−**", "within noise": "=", "too few items": "?"}


def cell(v: float | None, spec: str) -> str:
    return "-" if v is None else f"{100 * v:.2f}" if spec == "%" else format(v, spec)


def numbers(agg: dict) -> list[float | None]:
    m, a = agg.get("mask", {}), agg.get("alpha", {})
    return [agg["MAE_raw"], m.get("MAE"), m.get("maxF"), m.get("Sm"), m.get("wF"), a.get("SAD"), a.get("MSE"),
            a.get("Grad"), agg["holes"], agg["ghosts"]]


def peers_json_rows(path: Path, names: set[str]) -> list[str]:
    """A peer's own per-item scores (the set's peers.json) averaged over the same items: no maxF, holes, ghosts."""
    out = []
    for res in json.loads(path.read_text())["results"]:
        sub = [r for r in res["items"] if r["name"] in names]

        def mean(k: str, kind: str | None = None) -> float | None:
            v = [r[k] for r in sub if (kind is None or r["kind"] == kind) and r.get(k) is not None]
            return sum(v) / len(v) if v else None
        vals = [mean("MAE_raw"), mean("MAE", "mask"), None, mean("Sm", "mask"), mean("wF", "mask"),
                mean("SAD", "alpha"), mean("MSE", "alpha"), mean("Grad", "alpha"), None, None]
        label = res["pred"].rsplit("/", 1)[-1]
        out.append(f"| {label} (peers.json, same items) | " + " | ".join(map(cell, vals, FORMATS)) + " |")
    return out


def report(cfg: dict, cache_root: Path, peers_json: Path | None) -> str:
    sets = [(Path(s), cache_root / c) for s, c in cfg["sets"]]
    items = sweep.select_items(sets, cfg.get("fold"), cfg.get("kind"))
    needed = {n for text in cfg["variants"].values() for n, _ in sweep.parse_variant(text)[0]}
    needed |= {v.partition(":")[0] for v in cfg.get("peer_maps", {}).values()}
    items = [(it, c) for it, c in items if sweep.has_maps(c, it.name, needed)]
    rows: dict[str, list[Row]] = {label: sweep.variant_rows(items, text) for label, text in cfg["variants"].items()}
    rows.update({label: sweep.peer_map_rows(items, spec) for label, spec in cfg.get("peer_maps", {}).items()})
    lines = [f"# {cfg['title']}: {len(items)} items (fold {cfg.get('fold') or 'all'})", "",
             "| run | " + " | ".join(KEYS) + " |", "|---|" + "---|" * len(KEYS)]
    lines += [f"| {label} | " + " | ".join(map(cell, numbers(aggregate(r)), FORMATS)) + " |" for label, r in rows.items()]
    if peers_json:
        lines += peers_json_rows(peers_json, {it.name for it, _ in items})
    groups = {label: aggregate_groups(r) for label, r in rows.items()}
    names = list(next(iter(groups.values())))
    lines += ["", "| by dataset (mask MAE / maxF / Sm; alpha SAD / MSE / Grad; holes / ghosts %) | " + " | ".join(
        f"{short_group(g)} n={next(iter(groups.values()))[g]['n_scored']}" for g in names) + " |",
        "|---|" + "---|" * len(names)]
    for label, g in groups.items():
        cells = []
        for name in names:
            a = g[name]
            part = "mask" if "mask" in a else "alpha"
            keys = ("MAE", "maxF", "Sm") if part == "mask" else ("SAD", "MSE", "Grad")
            spec = ".3f" if part == "mask" else ".1f"
            cells.append(" / ".join(format(a[part][k], spec) for k in keys)
                         + f"; {cell(a['holes'], '%')} / {cell(a['ghosts'], '%')}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "| B vs A (95 % interval of B − A; + better, − worse, = within noise, ? too few items) | "
              + " | ".join(KEYS) + " | earns price |", "|---|" + "---|" * (len(KEYS) + 1)]
    for b, a in cfg["pairs"]:
        boot = bootstrap(rows[a], rows[b])
        cells = []
        for key, spec in zip(KEYS, FORMATS):
            m = boot["metrics"].get(key)
            scale, spec = (100, ".2f") if spec == "%" else (1, spec)
            cells.append("-" if m is None else
                         f"{MARK[m['verdict']]} [{scale * m['delta_lo']:+{spec}}, {scale * m['delta_hi']:+{spec}}]")
        lines.append(f"| {b} vs {a} | " + " | ".join(cells) + f" | {'yes' if boot['earns_its_price'] else 'no'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", type=Path)
    ap.add_argument("--cache-root", type=Path, required=True, help="where the config's map caches are")
    ap.add_argument("--peers-json", type=Path, help="the set's peers.json: peers' own scores on the same items")
    args = ap.parse_args(argv)
    print(report(json.loads(args.config.read_text()), args.cache_root, args.peers_json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
