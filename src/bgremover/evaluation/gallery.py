"""A gallery a person can look through: per item one PNG with the photo, the ground truth and each
run's cut-out on a checkerboard, side by side, and an ``index.html`` (no network, no scripts) that
lists the items with each run's holes, ghosts and MAE_raw, the first run's worst items first: most
holes plus ghosts (what makes a cut-out unusable), then where it loses most on MAE_raw."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bgremover.evaluation.dataset import EvalItem, EvalSet, load_alpha
from bgremover.evaluation.report import short_group
from bgremover.evaluation.runner import EvalResult

TILE_HEIGHT = 280
CAPTION = 22
SQUARE = 10


@dataclass(frozen=True)
class GalleryRun:
    """One column: a run's label, where its NAME.png predictions are, and its scores."""

    label: str
    pred_dir: Path
    result: EvalResult


def checkerboard(width: int, height: int, square: int = SQUARE) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    light = ((yy // square + xx // square) % 2 == 0)
    return np.where(light, 255, 204).astype(np.float32)[..., None].repeat(3, axis=2)


def on_checkerboard(rgb: np.ndarray, alpha: np.ndarray) -> Image.Image:
    """Composite colour over a grey checkerboard, so transparency and halos are visible."""
    h, w = alpha.shape
    a = alpha.astype(np.float32)[..., None]
    out = rgb.astype(np.float32) * a + checkerboard(w, h) * (1 - a)
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def _fit(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    return im if im.size == size else im.resize(size, Image.Resampling.BILINEAR)


def _prediction_tile(path: Path, photo: Image.Image, size: tuple[int, int]) -> Image.Image | None:
    """The prediction's own colour (its RGB if it has one, else the photo's) with its alpha."""
    if not path.is_file():
        return None
    with Image.open(path) as im:
        if im.size != photo.size:
            return None
        colour = im.convert("RGB") if im.mode in ("RGBA", "RGB", "P", "RGBa") else photo
        colour = _fit(colour, size)
    alpha = np.asarray(_fit(Image.fromarray((load_alpha(path) * 255 + 0.5).astype(np.uint8)), size)) / 255.0
    return on_checkerboard(np.asarray(colour), alpha)


def _caption(tile: Image.Image | None, text: str, size: tuple[int, int], font: ImageFont.ImageFont) -> Image.Image:
    panel = Image.new("RGB", (size[0], size[1] + CAPTION), "white")
    if tile is None:
        tile = Image.fromarray(checkerboard(*size).astype(np.uint8))
        ImageDraw.Draw(tile).text((8, 8), "missing or wrong size", fill="red", font=font)
    panel.paste(tile, (0, CAPTION))
    ImageDraw.Draw(panel).text((4, 3), text, fill="black", font=font)
    return panel


def _score_text(result: EvalResult, name: str) -> str:
    row = result.row(name)
    if not row or not row.get("scored"):
        return "not scored"
    key = "maxF" if row["kind"] == "mask" else "SAD"
    return f"MAE {row['MAE_raw']:.3f} {key} {row[key]:.2f} H {_pct(row.get('holes'))} G {_pct(row.get('ghosts'))}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _defects(result: EvalResult, name: str) -> tuple[float | None, float | None]:
    row = result.row(name)
    if not row or not row.get("scored"):
        return None, None
    return row.get("holes"), row.get("ghosts")


def item_sheet(item: EvalItem, runs: list[GalleryRun], font: ImageFont.ImageFont) -> Image.Image:
    with Image.open(item.photo_path) as im:
        photo = im.convert("RGB")
    w, h = photo.size
    size = (max(1, round(w * TILE_HEIGHT / h)), TILE_HEIGHT)
    small = _fit(photo, size)
    gt = np.asarray(_fit(Image.fromarray((item.load_gt() * 255 + 0.5).astype(np.uint8)), size)) / 255.0
    panels = [_caption(small, f"{item.name} ({w}x{h})", size, font),
              _caption(on_checkerboard(np.asarray(small), gt), "ground truth", size, font)]
    for run in runs:
        tile = _prediction_tile(run.pred_dir / f"{item.name}.png", photo, size)
        panels.append(_caption(tile, f"{run.label}: {_score_text(run.result, item.name)}", size, font))
    sheet = Image.new("RGB", (sum(p.width for p in panels) + 4 * (len(panels) - 1), panels[0].height), "white")
    x = 0
    for p in panels:
        sheet.paste(p, (x, 0))
        x += p.width + 4
    return sheet


def _mae(result: EvalResult, name: str) -> float | None:
    row = result.row(name)
    return row["MAE_raw"] if row and row.get("scored") else None


def write_gallery(out_dir: str | Path, eval_set: EvalSet, runs: list[GalleryRun]) -> Path:
    """Write ``out_dir/NAME.png`` per item and ``out_dir/index.html``; returns the index path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    font = ImageFont.load_default(size=13)
    entries = []
    for item in eval_set.items:
        item_sheet(item, runs, font).save(out / f"{item.name}.png", compress_level=3)
        maes = [_mae(r.result, item.name) for r in runs]
        peers = [m for m in maes[1:] if m is not None]
        margin = (maes[0] - min(peers)) if maes[0] is not None and peers else None
        defects = [_defects(r.result, item.name) for r in runs]
        entries.append((item, maes, margin, defects))
    entries.sort(key=lambda e: (-sum(v or 0.0 for v in e[3][0]),
                                -(e[2] if e[2] is not None else (e[1][0] or 0.0))))
    index = out / "index.html"
    index.write_text(_index_html(eval_set, runs, entries))
    return index


def _index_html(eval_set: EvalSet, runs: list[GalleryRun], entries: list) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(r.label)}<br>holes / ghosts</th>" for r in runs) + \
        "".join(f"<th>{esc(r.label)}<br>MAE_raw</th>" for r in runs)
    means = "".join(f"<td>{_pct(r.result.aggregate.get('holes'))} / {_pct(r.result.aggregate.get('ghosts'))}</td>"
                    for r in runs)
    rows = []
    for item, maes, margin, defects in entries:
        defect_cells = "".join(f"<td class=\"defects\">{_pct(h)} / {_pct(g)}</td>" for h, g in defects)
        best = min((m for m in maes if m is not None), default=None)
        cells = "".join(
            f"<td class=\"{'best' if m is not None and m == best and len(runs) > 1 else ''}\">"
            f"{'-' if m is None else f'{m:.4f}'}</td>" for m in maes)
        verdict = "" if margin is None else ("loses" if margin > 1e-12 else "wins" if margin < -1e-12 else "tie")
        name = esc(item.name)
        rows.append(
            f"<tr><td><a href=\"{name}.png\"><img src=\"{name}.png\" loading=\"lazy\" alt=\"{name}\"></a></td>"
            f"<td>{name}<br><small>{esc(short_group(item.field('dataset')))} · {item.kind}</small></td>"
            f"{defect_cells}{cells}"
            f"<td class=\"{verdict}\">{verdict}{'' if margin is None else f' {margin:+.4f}'}</td></tr>")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>bgremover gallery: {esc(eval_set.root.name)}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }} table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; vertical-align: middle; }}
td:nth-child(2) {{ text-align: left; }} img {{ max-height: 160px; }}
.best {{ font-weight: bold; }} .loses {{ color: #b00; }} .wins {{ color: #070; }}
</style></head><body>
<h1>{esc(runs[0].label)} on {esc(str(eval_set.root))}</h1>
<p>{len(entries)} items. Each picture: photo, ground truth, then each run's cut-out on a checkerboard.
Holes: share of the ground truth's opaque pixels (alpha &ge; 0.95) cut below 0.9; ghosts: share of its background
(alpha &le; 0.05) kept above 0.1; both regions shrunk by 1 % of the diagonal (at least 3 px) so soft edges do not count.
{esc(runs[0].label)}'s worst items come first: most holes plus ghosts, then furthest behind the best other run on
MAE_raw. Lower is better.</p>
<table><tr><th>sheet</th><th>item</th>{head}<th>{esc(runs[0].label)} vs best other</th></tr>
<tr class="mean"><td></td><td>mean over items</td>{means}{"<td></td>" * (len(runs) + 1)}</tr>
{chr(10).join(rows)}
</table></body></html>
"""
