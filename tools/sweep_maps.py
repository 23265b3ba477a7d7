"""Try recipe ideas in seconds: cache each model's map per eval item once, then score combinations.

Running a preset through ``bgremover eval`` costs a full model pass per idea (minutes for the
ensembles). Most ideas (weights, mirroring, the ensemble rule, the edge filter's parameters) only
change what happens *after* the models, so this caches every model map as ``.npy`` and scores
variants with the project's own refinement and metrics (equal to ``evalcut.py``). Experiments only:
a variant that wins here becomes a preset in ``catalog.toml`` and is measured again with
``bgremover eval``. The eval photos stay where they are; the cache holds maps, not photos::

    .venv/bin/python tools/sweep_maps.py cache ../shared/eval/dev /tmp/maps --model u2net --model u2netp --flip
    .venv/bin/python tools/sweep_maps.py cache ../shared/eval/dev /tmp/maps --model isnet-imgly@640 --flip
    .venv/bin/python tools/sweep_maps.py score ../shared/eval/dev-large /tmp/maps-large --fold '~0/2' \\
        "u2net~*2 u2netp~ | stretch=0.1,0.9" "u2net~*2 u2netp~ | eps=3e-3" --peer rembg=/tmp/rembg-u2net

A variant is ``MAP[*WEIGHT] ... [| key=value ...]``: ``MAP`` is a cached model id (``@SIZE``: run at
that input size), ``~`` averages it with its mirrored run; keys are ``rule`` (mean | confidence),
the refine parameters (``work_side``, ``radius``, ``eps``, ``stretch=lo,hi``, ``method``) and the
matting stage's (``matting=closed_form``, ``band=lo,hi``, ``widen``, ``mix``). Every variant after the
first, and every ``--peer``, is compared with the first by the paired bootstrap (``evaluation/aggregate.py``):
``+`` better, ``-`` worse, ``=`` within noise (the 95 % interval of B - A reaches zero), ``?`` too few items. ``--fold``
keeps a tuning or confirmation part (``evaluation/split.py``); ``--also SET CACHE`` pools another set
(the 30 alpha mattes of dev and dev-large, say, with ``--kind alpha``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from bgremover import Remover
from bgremover.evaluation.aggregate import Row, aggregate, bootstrap, strip_private
from bgremover.evaluation.dataset import EvalItem, load_alpha, load_eval_set
from bgremover.evaluation.metrics import score_item
from bgremover.evaluation.split import parse_fold
from bgremover.imaging.compose import to_alpha8
from bgremover.imaging.decode import decode_image
from bgremover.pipeline.ensemble import combine
from bgremover.pipeline.matting import MattingParams, matte_band
from bgremover.pipeline.refine import RefineParams, refine_alpha

COLUMNS = ("MAE_raw", "mask MAE", "maxF", "Sm", "wF", "SAD", "MSE", "Grad", "holes", "ghosts")
DEFAULT_REFINE = {"method": "guided", "upsample": "cubic", "work_side": 480, "radius": 1, "eps": 1e-3}
MATTING_KEYS = {"matting": "method", "band": "band", "widen": "widen", "mix": "mix", "matting_side": "work_side"}
SYMBOL = {"better": "+", "worse": "-", "within noise": "=", "too few items": "?"}


def photo(item: EvalItem) -> np.ndarray:
    return decode_image(item.photo_path.read_bytes()).rgb


def cache_maps(set_dir: Path, out: Path, models: list[str], flip: bool, fold: str | None = None) -> None:
    """One ``NAME.MODEL.npy`` per item and model (plus ``NAME.MODEL~.npy``, the mirrored run);
    ``MODEL@SIZE`` runs the model at that square input. Items already cached are skipped."""
    out.mkdir(parents=True, exist_ok=True)
    registry = Remover().registry
    for item, _ in select_items([(set_dir, out)], fold, None):
        rgb = None
        for model in models:
            model_id, _, size = model.partition("@")
            target = out / f"{item.name}.{model}{'~' if flip else ''}.npy"
            if target.is_file():
                continue
            rgb = photo(item) if rgb is None else rgb
            seg = registry.get(model_id, int(size) if size else None)
            batch = seg.preprocess(rgb)
            np.save(out / f"{item.name}.{model}.npy", seg.postprocess(seg.run(batch)[0]))
            if flip:
                mirrored = seg.postprocess(seg.run(np.ascontiguousarray(batch[..., ::-1]))[0])[:, ::-1]
                np.save(target, np.ascontiguousarray(mirrored))
        print(item.name, flush=True)


def parse_variant(text: str) -> tuple[list[tuple[str, float]], str, RefineParams, MattingParams]:
    maps_part, _, opts_part = text.partition("|")
    maps = []
    for token in maps_part.split():
        name, _, weight = token.partition("*")
        maps.append((name, float(weight or 1)))
    opts: dict[str, object] = dict(DEFAULT_REFINE)
    matting: dict[str, object] = {}
    rule = "mean"
    for pair in opts_part.split():
        key, _, value = pair.partition("=")
        pairs = tuple(float(v) for v in value.split(",")) if "," in value else None
        target, name = (matting, MATTING_KEYS[key]) if key in MATTING_KEYS else (opts, key)
        if key == "rule":
            rule = value
        elif pairs is not None:
            target[name] = pairs
        elif key in ("method", "upsample", "matting"):
            target[name] = value
        else:
            target[name] = float(value) if key in ("eps", "mix") else int(value)
    return maps, rule, RefineParams(**opts), MattingParams(**matting)  # type: ignore[arg-type]


def load_map(cache: Path, item: str, name: str) -> np.ndarray:
    if name.endswith("~"):  # the model's map averaged with its mirrored run
        base = name[:-1]
        return 0.5 * (np.load(cache / f"{item}.{base}.npy") + np.load(cache / f"{item}.{base}~.npy"))
    return np.load(cache / f"{item}.{name}.npy")


def headline(agg: dict) -> tuple[float, ...]:
    m, a = agg["mask"], agg["alpha"]
    return (agg["MAE_raw"], m["MAE"], m["maxF"], m["Sm"], m["wF"], a["SAD"], a["MSE"], a["Grad"])


def variant_rows(items: list[tuple[EvalItem, Path]], text: str) -> list[Row]:
    """Per-item scores of a variant, each item's maps read from its set's cache."""
    maps, rule, params, matting = parse_variant(text)
    rows = []
    for item, cache in items:
        prob = combine([load_map(cache, item.name, n) for n, _ in maps], [w for _, w in maps], rule)
        rgb = photo(item)
        alpha = matte_band(rgb, refine_alpha(rgb, prob, params), matting)
        pred = to_alpha8(alpha).astype(np.float64) / 255.0  # scored as the 8-bit PNG the service writes
        rows.append({"name": item.name, "kind": item.kind, "scored": True, "group": item.field("dataset"),
                     **score_item(item.kind, pred, item.load_gt())})
    return rows


def peer_rows(items: list[tuple[EvalItem, Path]], dirs: list[Path]) -> list[Row]:
    """A peer's saved predictions (``DIR/NAME.png``, looked for in each of ``dirs``), missing ones as zero."""
    rows = []
    for item, _ in items:
        gt = item.load_gt()
        path = next((d / f"{item.name}.png" for d in dirs if (d / f"{item.name}.png").is_file()), None)
        pred = load_alpha(path) if path is not None else np.zeros_like(gt)
        pred = pred if pred.shape == gt.shape else np.zeros_like(gt)
        rows.append({"name": item.name, "kind": item.kind, "scored": True, "group": item.field("dataset"),
                     **score_item(item.kind, pred, gt)})
    return rows


def peer_map_rows(items: list[tuple[EvalItem, Path]], spec: str) -> list[Row]:
    """A peer reproduced from a cached map, as it ships it: ``MAP:RESAMPLE`` is the map cut to 8 bits
    (truncated) and resized to the photo by Pillow (rembg u2net: ``u2net:lanczos``; img.ly medium, IS-Net
    at 1024 px: ``isnet-imgly:bilinear``). Check the reproduction against the peer's own scores first."""
    name, _, how = spec.partition(":")
    resample = {"lanczos": Image.Resampling.LANCZOS, "bilinear": Image.Resampling.BILINEAR}[how or "lanczos"]
    rows = []
    for item, cache in items:
        gt = item.load_gt()
        m8 = Image.fromarray((np.clip(load_map(cache, item.name, name), 0, 1) * 255).astype(np.uint8))
        pred = np.asarray(m8.resize((gt.shape[1], gt.shape[0]), resample), dtype=np.float64) / 255.0
        rows.append({"name": item.name, "kind": item.kind, "scored": True, "group": item.field("dataset"),
                     **score_item(item.kind, pred, gt)})
    return rows


def score_variant(set_dir: Path, cache: Path, text: str) -> tuple[float, ...]:
    return headline(aggregate(variant_rows([(it, cache) for it in load_eval_set(set_dir).items], text)))


def select_items(sets: list[tuple[Path, Path]], fold: str | None, kind: str | None) -> list[tuple[EvalItem, Path]]:
    spec = parse_fold(fold) if fold else None
    return [(it, cache) for set_dir, cache in sets for it in load_eval_set(set_dir).items
            if (spec is None or spec.holds(it.name)) and (kind is None or it.kind == kind)]


def has_maps(cache: Path, item: str, names: set[str]) -> bool:
    files = {f"{n[:-1]}.npy" for n in names if n.endswith("~")} | {f"{n}.npy" for n in names}
    return all((cache / f"{item}.{f}").is_file() for f in files)


def line(label: str, rows: list[Row], base: list[Row] | None) -> str:
    agg = aggregate(rows)
    vals = {"MAE_raw": agg["MAE_raw"], "holes": agg["holes"], "ghosts": agg["ghosts"],
            **{("mask MAE" if k == "MAE" else k): v for k, v in agg.get("mask", {}).items()},
            **{k: agg.get("alpha", {}).get(k) for k in ("SAD", "MSE", "Grad")}}
    boot = bootstrap(base, rows) if base is not None else {}
    cells = []
    for col in COLUMNS:
        v = vals.get(col)
        text = "-" if v is None else f"{100 * v:.2f}" if col in ("holes", "ghosts") else \
            f"{v:.4f}" if col in COLUMNS[:5] else f"{v:.1f}"
        mark = SYMBOL[boot["metrics"][col]["verdict"]] if col in boot.get("metrics", {}) else " "
        cells.append(f"{text:>8s}{mark}")
    return f"{label[:52]:52s} " + " ".join(cells)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache", help="run the models once per item and keep their maps")
    c.add_argument("set_dir", type=Path)
    c.add_argument("cache", type=Path)
    c.add_argument("--model", action="append", required=True, help="model id, or ID@SIZE for another input size")
    c.add_argument("--flip", action="store_true", help="also keep each model's mirrored run (NAME~)")
    c.add_argument("--fold", help="I/K or ~I/K: only these items (see score)")
    s = sub.add_parser("score", help="score variants built from cached maps, each against the first")
    s.add_argument("set_dir", type=Path)
    s.add_argument("cache", type=Path)
    s.add_argument("variants", nargs="+")
    s.add_argument("--also", nargs=2, action="append", default=[], metavar=("SET", "CACHE"), type=Path,
                   help="pool another set's items (its maps in CACHE)")
    s.add_argument("--fold", help="I/K: only fold I of K (confirmation part); ~I/K: all but fold I (tuning part)")
    s.add_argument("--kind", choices=("mask", "alpha"), help="only items of this kind")
    s.add_argument("--peer", action="append", default=[], metavar="LABEL=DIR[,DIR]",
                   help="a peer's saved predictions, compared with the first variant")
    s.add_argument("--peer-map", action="append", default=[], metavar="LABEL=MAP:RESAMPLE",
                   help="a peer reproduced from a cached map (rembg u2net: u2net:lanczos)")
    s.add_argument("--cached", action="store_true",
                   help="only the items whose maps are all cached yet (a cache still being filled)")
    s.add_argument("--json", type=Path, help="write every variant's per-item rows and bootstraps here")
    args = ap.parse_args(argv)
    if args.cmd == "cache":
        cache_maps(args.set_dir, args.cache, args.model, args.flip, args.fold)
        return 0
    items = select_items([(args.set_dir, args.cache), *map(tuple, args.also)], args.fold, args.kind)
    if args.cached:
        needed = {n for text in args.variants for n, _ in parse_variant(text)[0]} | \
            {p.partition("=")[2].partition(":")[0] for p in args.peer_map}
        items = [(it, cache) for it, cache in items if has_maps(cache, it.name, needed)]
    print(f"{len(items)} items; marks: bootstrap against the first variant (+ better, - worse, = within noise)")
    print(f"{'variant':52s} " + " ".join(f"{c:>9s}" for c in COLUMNS))
    record: dict[str, list[Row]] = {}
    for text in args.variants:
        record[text] = variant_rows(items, text)
        print(line(text, record[text], None if text == args.variants[0] else record[args.variants[0]]), flush=True)
    peers = [(p.partition("=")[0], p.partition("=")[2], peer_rows) for p in args.peer] + \
        [(p.partition("=")[0], p.partition("=")[2], peer_map_rows) for p in args.peer_map]
    for label, source, rows_of in peers:
        record[label] = rows_of(items, [Path(d) for d in source.split(",")] if rows_of is peer_rows else source)
        print(line(f"peer {label}", record[label], record[args.variants[0]]), flush=True)
    if args.json:
        first = record[args.variants[0]]
        args.json.write_text(json.dumps(strip_private({
            "items": len(items), "fold": args.fold, "kind": args.kind,
            "rows": record, "vs_first": {k: bootstrap(first, v) for k, v in record.items() if v is not first}})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
