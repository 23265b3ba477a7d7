"""Try recipe ideas in seconds: cache each model's map per eval item once, then score combinations.

Running a preset through ``bgremover eval`` costs a full model pass per idea (minutes for the
ensembles). Most ideas (weights, mirroring, the ensemble rule, the edge filter's parameters) only
change what happens *after* the models, so this caches every model map as ``.npy`` and scores
variants with the project's own refinement and metrics (equal to ``evalcut.py``). Experiments only:
a variant that wins here becomes a preset in ``catalog.toml`` and is measured again with
``bgremover eval``. The eval photos stay where they are; the cache holds maps, not photos::

    .venv/bin/python tools/sweep_maps.py cache ../shared/eval/dev /tmp/maps --model u2net --model u2netp --flip
    .venv/bin/python tools/sweep_maps.py score ../shared/eval/dev /tmp/maps \\
        "u2net*2 u2netp" "u2net~*2 u2netp~ | stretch=0.1,0.9" "u2net~*2 u2netp~ | eps=3e-3"
    .venv/bin/python tools/sweep_maps.py save ../shared/eval/dev /tmp/maps "u2net-int8" /tmp/pred/int8

A variant is ``MAP[*WEIGHT] ... [| key=value ...]``: ``MAP`` is a cached model id, ``~`` averages it
with its mirrored run; keys are ``rule`` (mean | confidence) and the refine parameters
(``work_side``, ``radius``, ``eps``, ``stretch=lo,hi``, ``method``). Starred figures beat every peer
row of BASELINES.md.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from bgremover import Remover
from bgremover.evaluation.aggregate import aggregate
from bgremover.evaluation.dataset import EvalItem, load_eval_set
from bgremover.evaluation.metrics import score_item
from bgremover.imaging.compose import to_alpha8
from bgremover.imaging.decode import decode_image
from bgremover.pipeline.ensemble import combine
from bgremover.pipeline.refine import RefineParams, refine_alpha

# BASELINES.md, main table: MAE_raw, mask MAE, maxF, Sm, wF, alpha SAD, MSE x1e3, Grad
PEERS = {
    "rembg-u2netp": (0.0769, 0.0484, 0.9095, 0.8923, 0.8579, 107.2, 112.9, 44.2),
    "rembg-u2net": (0.0734, 0.0399, 0.9295, 0.9014, 0.8904, 108.3, 122.2, 45.7),
    "rembg-u2net-am": (0.0759, 0.0455, 0.9239, 0.8944, 0.8722, 106.8, 121.2, 43.0),
    "imgly-small": (0.1067, 0.0855, 0.8676, 0.8477, 0.7856, 111.0, 108.1, 49.3),
    "imgly-medium": (0.0825, 0.0534, 0.9245, 0.8907, 0.8722, 108.0, 105.1, 37.3),
}
COLUMNS = ("MAE_raw", "mask MAE", "maxF", "Sm", "wF", "SAD", "MSE", "Grad")
HIGHER = {"maxF", "Sm", "wF"}
DEFAULT_REFINE = {"method": "guided", "upsample": "cubic", "work_side": 480, "radius": 1, "eps": 1e-3}


def photo(item: EvalItem) -> np.ndarray:
    return decode_image(item.photo_path.read_bytes()).rgb


def cache_maps(set_dir: Path, out: Path, models: list[str], flip: bool) -> None:
    """One ``NAME.MODEL.npy`` per item and model (plus ``NAME.MODEL~.npy``, the mirrored run)."""
    out.mkdir(parents=True, exist_ok=True)
    registry = Remover().registry
    for item in load_eval_set(set_dir).items:
        rgb = photo(item)
        for model in models:
            seg = registry.get(model)
            batch = seg.preprocess(rgb)
            np.save(out / f"{item.name}.{model}.npy", seg.postprocess(seg.run(batch)[0]))
            if flip:
                mirrored = seg.postprocess(seg.run(np.ascontiguousarray(batch[..., ::-1]))[0])[:, ::-1]
                np.save(out / f"{item.name}.{model}~.npy", np.ascontiguousarray(mirrored))
        print(item.name, flush=True)


def parse_variant(text: str) -> tuple[list[tuple[str, float]], str, RefineParams]:
    maps_part, _, opts_part = text.partition("|")
    maps = []
    for token in maps_part.split():
        name, _, weight = token.partition("*")
        maps.append((name, float(weight or 1)))
    opts: dict[str, object] = dict(DEFAULT_REFINE)
    rule = "mean"
    for pair in opts_part.split():
        key, _, value = pair.partition("=")
        if key == "rule":
            rule = value
        elif key == "stretch":
            lo, hi = value.split(",")
            opts[key] = (float(lo), float(hi))
        elif key in ("method", "upsample"):
            opts[key] = value
        else:
            opts[key] = float(value) if key == "eps" else int(value)
    return maps, rule, RefineParams(**opts)  # type: ignore[arg-type]


def load_map(cache: Path, item: str, name: str) -> np.ndarray:
    if name.endswith("~"):  # the model's map averaged with its mirrored run
        base = name[:-1]
        return 0.5 * (np.load(cache / f"{item}.{base}.npy") + np.load(cache / f"{item}.{base}~.npy"))
    return np.load(cache / f"{item}.{name}.npy")


def headline(agg: dict) -> tuple[float, ...]:
    m, a = agg["mask"], agg["alpha"]
    return (agg["MAE_raw"], m["MAE"], m["maxF"], m["Sm"], m["wF"], a["SAD"], a["MSE"], a["Grad"])


def beats_peers(column: str, value: float) -> bool:
    i = COLUMNS.index(column)
    peers = [row[i] for row in PEERS.values()]
    return value > max(peers) if column in HIGHER else value < min(peers)


def variant_alphas(set_dir: Path, cache: Path, text: str,
                   limit: int | None = None) -> Iterator[tuple[EvalItem, np.ndarray]]:
    """Each item (the first ``limit``) with the variant's 8-bit alpha, as the service would write it."""
    maps, rule, params = parse_variant(text)
    for item in load_eval_set(set_dir).items[:limit]:
        prob = combine([load_map(cache, item.name, n) for n, _ in maps], [w for _, w in maps], rule)
        yield item, to_alpha8(refine_alpha(photo(item), prob, params))


def score_variant(set_dir: Path, cache: Path, text: str) -> tuple[float, ...]:
    rows = []
    for item, alpha8 in variant_alphas(set_dir, cache, text):
        pred = alpha8.astype(np.float64) / 255.0  # scored as the 8-bit PNG the service writes
        rows.append({"name": item.name, "kind": item.kind, "scored": True,
                     **score_item(item.kind, pred, item.load_gt())})
    return headline(aggregate(rows))


def save_variant(set_dir: Path, cache: Path, text: str, out: Path, limit: int | None = None) -> None:
    """The variant's alpha as ``OUT/NAME.png`` (grey + alpha), for ``bgremover eval --pred-dir OUT --compare``
    (with ``--limit N`` when only the first N items are cached)."""
    out.mkdir(parents=True, exist_ok=True)
    for item, alpha8 in variant_alphas(set_dir, cache, text, limit):
        Image.fromarray(np.stack([np.zeros_like(alpha8), alpha8], axis=-1), "LA").save(out / f"{item.name}.png")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache", help="run the models once per item and keep their maps")
    c.add_argument("set_dir", type=Path)
    c.add_argument("cache", type=Path)
    c.add_argument("--model", action="append", required=True)
    c.add_argument("--flip", action="store_true", help="also keep each model's mirrored run (NAME~)")
    s = sub.add_parser("score", help="score variants built from cached maps")
    s.add_argument("set_dir", type=Path)
    s.add_argument("cache", type=Path)
    s.add_argument("variants", nargs="+")
    v = sub.add_parser("save", help="write one variant's alpha PNGs (to compare with bgremover eval)")
    v.add_argument("set_dir", type=Path)
    v.add_argument("cache", type=Path)
    v.add_argument("variant")
    v.add_argument("out", type=Path)
    v.add_argument("--limit", type=int, help="only the first N items of the manifest")
    args = ap.parse_args(argv)
    if args.cmd == "save":
        save_variant(args.set_dir, args.cache, args.variant, args.out, args.limit)
        return 0
    if args.cmd == "cache":
        cache_maps(args.set_dir, args.cache, args.model, args.flip)
        return 0
    print(f"{'variant':44s} " + " ".join(f"{c:>9s}" for c in COLUMNS))
    for text in args.variants:
        values = score_variant(args.set_dir, args.cache, text)
        cells = [f"{v:.4f}" if i < 5 else f"{v:.1f}" for i, v in enumerate(values)]
        marks = ["*" if beats_peers(col, v) else " " for col, v in zip(COLUMNS, values)]
        print(f"{text[:44]:44s} " + " ".join(f"{c:>8s}{m}" for c, m in zip(cells, marks)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
