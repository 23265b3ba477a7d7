"""``bgremover eval``: score a preset (or existing predictions) on a set, overall and by dataset,
against peers' predictions when given, with a JSON record and an optional picture gallery."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from bgremover.evaluation.split import FoldSpec
    from bgremover.inference.catalog import Catalog, Preset


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)


def evaluate(
    set_dir: Path = typer.Argument(..., metavar="SET_DIR", help="Set directory: images/, gt/, manifest.json."),
    model: str | None = typer.Option(None, "--model", "-m", help="Preset to run (default: the catalog's default)."),
    save_predictions: Path | None = typer.Option(None, help="Write each cut-out as DIR/NAME.png (RGBA)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write every number (per item too) here."),
    gallery: Path | None = typer.Option(None, help="Write a picture per item and DIR/index.html."),
    compare: list[Path] | None = typer.Option(None, "--compare", metavar="PRED_DIR",
                                              help="Peer predictions (NAME.png) to score and compare item by item; "
                                              "repeat for several."),
    pred_dir: Path | None = typer.Option(None, metavar="PRED_DIR",
                                         help="Score these predictions instead of running a model."),
    limit: int | None = typer.Option(None, min=1, help="Only the first N items of the manifest."),
    fold: str | None = typer.Option(None, metavar="I/K", help="Only fold I of K (the confirmation part), or "
                                    "~I/K for every other fold (the tuning part); folds are fixed by item name."),
    vs_cheaper: bool = typer.Option(False, "--vs-cheaper", help="Also run the next-cheaper preset(s) and say, "
                                    "with the paired bootstrap, whether this one earns its higher price."),
    by: str = typer.Option("dataset", help="Manifest field to group by ('' for none)."),
    missing: str = typer.Option("zero", help="Missing or wrongly sized prediction: 'zero' (scored as "
                                "transparent) or 'skip'."),
) -> None:
    """Score cut-outs against ground truth (the metrics of shared/eval/BASELINES.md)."""
    from rich.console import Console
    from rich.markup import escape

    from bgremover.errors import BgRemoverError
    from bgremover.evaluation.split import parse_fold

    out, err = Console(), Console(stderr=True, soft_wrap=True, highlight=False)
    if not out.is_terminal:  # a file or a pipe: do not squeeze the tables into 80 columns
        out = Console(width=150)
    if pred_dir is not None and (model or save_predictions):
        err.print("[red]error:[/red] --pred-dir scores existing predictions; it cannot be combined with "
                  "--model or --save-predictions")
        raise typer.Exit(2)
    if missing not in ("zero", "skip"):
        err.print(f"[red]error:[/red] --missing must be zero or skip, not {escape(repr(missing))}")
        raise typer.Exit(2)
    if vs_cheaper and pred_dir is not None:
        err.print("[red]error:[/red] --vs-cheaper runs presets; score the cheaper preset's predictions with "
                  "--compare instead")
        raise typer.Exit(2)
    try:
        fold_spec = parse_fold(fold) if fold else None
    except ValueError as exc:
        err.print(f"[red]error:[/red] --fold: {escape(str(exc))}")
        raise typer.Exit(2) from None
    for d in [*(compare or []), *([pred_dir] if pred_dir else [])]:
        if not d.is_dir():
            err.print(f"[red]error:[/red] prediction directory {escape(str(d))} does not exist")
            raise typer.Exit(2)
    try:
        _evaluate(out, err, set_dir, model, save_predictions, json_out, gallery, compare or [], pred_dir, limit,
                  by or None, missing, fold_spec, vs_cheaper)
    except BgRemoverError as exc:
        err.print(f"[red]error[/red] {escape(f'[{exc.code}]: {exc.message}')}")
        raise typer.Exit(1) from None


def _evaluate(out: Console, err: Console, set_dir: Path, model: str | None, save_predictions: Path | None,
              json_out: Path | None, gallery: Path | None, compare: list[Path], pred_dir: Path | None,
              limit: int | None, by: str | None, missing: str, fold: FoldSpec | None, vs_cheaper: bool) -> None:
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bgremover.evaluation.aggregate import bootstrap
    from bgremover.evaluation.aggregate import compare as paired
    from bgremover.evaluation.dataset import load_eval_set
    from bgremover.evaluation.gallery import GalleryRun, write_gallery
    from bgremover.evaluation.report import (bootstrap_table, comparison_table, groups_table, overall_table,
                                             verdict_line)
    from bgremover.evaluation.runner import run_preset, score_predictions

    eval_set = load_eval_set(set_dir)
    names = set(fold.select([it.name for it in eval_set.items])) if fold else None
    eval_set = eval_set.subset(limit, names)
    part = f", fold {fold}" if fold else ""
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[item]}"), console=err, transient=True)
    with progress:
        def tracker(description: str):
            task = progress.add_task(description, total=len(eval_set), item="")
            return lambda item, row: progress.update(task, advance=1, item=item.name)

        if pred_dir is not None:
            ours = score_predictions(eval_set, pred_dir, missing=missing, by=by, on_item=tracker(f"scoring {pred_dir}"))
            ours_dir = pred_dir
            cheaper = []
        else:
            from bgremover import Remover

            remover = Remover()
            preset = remover.preset(model)  # unknown preset, missing or unlicensed weights: typed error
            remover.load_models(preset.name)  # before any work
            name = preset.name
            ours_dir = save_predictions or (gallery / "predictions" if gallery else None)
            ours = run_preset(eval_set, remover, name, save_dir=ours_dir, by=by, on_item=tracker(f"running {name}"))
            cheaper = [run_preset(eval_set, remover, p.name, by=by, on_item=tracker(f"running {p.name}"))
                       for p in (next_cheaper(remover.catalog, name) if vs_cheaper else [])]
        labels = _labels(compare)
        peers = [score_predictions(eval_set, d, label=labels[i], missing=missing, by=by,
                                   on_item=tracker(f"scoring {d}")) for i, d in enumerate(compare)]

    results = [ours, *cheaper, *peers]
    out.print(overall_table(results, title=f"{eval_set.root} ({len(eval_set)} items{part})"))
    gt = groups_table(results)
    if gt is not None:
        out.print(gt)
    comparisons = []
    for peer in [*cheaper, *peers]:
        c = paired(peer.rows, ours.rows)
        boot = bootstrap(peer.rows, ours.rows)
        comparisons.append({"a": peer.label, "b": ours.label, **c, "bootstrap": boot})
        out.print(comparison_table(peer.label, ours.label, c))
        if boot:
            out.print(bootstrap_table(peer.label, ours.label, boot))
            out.print(escape(verdict_line(peer.label, ours.label, boot)))
            if peer in cheaper:
                out.print(_price_line(peer.label, ours.label, boot))
    flagged = [r["name"] for r in ours.rows if r.get("flag")]
    if flagged:
        err.print(f"[yellow]{len(flagged)} item(s) flagged (missing or wrongly sized prediction):[/yellow] "
                  + escape(", ".join(flagged[:10])) + (" ..." if len(flagged) > 10 else ""))
    timing = f"{ours.seconds:.1f} s" + (f" (matte {ours.extra['matte_seconds']:.1f} s)" if ours.model else "")
    out.print(f"{escape(ours.label)}: {len(eval_set)} items in {timing}")
    if ours_dir is not None and pred_dir is None:
        out.print(f"predictions: {escape(str(ours_dir))}")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"results": [r.to_json() for r in results], "comparisons": comparisons,
                   "fold": str(fold) if fold else None}
        json_out.write_text(json.dumps(payload, indent=1))
        out.print(f"json: {escape(str(json_out))}")
    if gallery is not None:
        runs = [GalleryRun(r.label, d, r) for r, d in zip([ours, *peers], [ours_dir, *compare])]
        index = write_gallery(gallery, eval_set, runs)
        out.print(f"gallery: {escape(str(index))}")


def next_cheaper(catalog: Catalog, name: str) -> list[Preset]:
    """The presets at the highest price below ``name``'s (both 1-credit presets below a 3-credit one)."""
    credits = catalog.preset(name).credits
    below = [p for p in catalog.presets_by_credits() if p.credits < credits]
    return [p for p in below if p.credits == below[-1].credits] if below else []


def _price_line(cheaper: str, ours: str, boot: dict[str, Any]) -> str:
    from rich.markup import escape

    if boot["earns_its_price"]:
        return f"[green]{escape(ours)} earns its price over {escape(cheaper)}[/green]: better on " \
               f"{len(boot['better_on'])} headline numbers, worse on none beyond the noise."
    why = f"worse on {', '.join(boot['worse_on'])}" if boot["worse_on"] else \
        f"better on only {len(boot['better_on'])} of the headline numbers beyond the noise"
    return f"[red]{escape(ours)} does not earn its price over {escape(cheaper)}[/red]: {escape(why)}."


def _labels(paths: list[Path]) -> list[str]:
    """Each peer directory's name, or as many of its last parts as tell it apart from the others
    (``rembg/dev`` and ``fp32/dev``, not ``dev`` twice)."""
    parts = [p.resolve().parts for p in paths]
    for depth in range(1, max((len(p) for p in parts), default=1) + 1):
        labels = ["/".join(p[-depth:]) or str(path) for p, path in zip(parts, paths)]
        if len(set(labels)) == len(labels):
            return labels
    return [str(p) for p in paths]
