"""The gallery: one side-by-side picture per item and an index that works offline."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from bgremover.evaluation.dataset import load_eval_set
from bgremover.evaluation.gallery import TILE_HEIGHT, GalleryRun, on_checkerboard, write_gallery
from bgremover.evaluation.runner import score_predictions
from bgremover.evaluation.synthetic import write_synthetic_set


def save_alpha_predictions(eval_set, out: Path, transform) -> Path:
    out.mkdir(parents=True)
    for item in eval_set.items:
        a = np.clip(transform(item.load_gt()), 0, 1)
        Image.fromarray(np.round(a * 255).astype(np.uint8)).save(out / f"{item.name}.png")
    return out


def test_transparent_pixels_show_the_checkerboard_and_opaque_ones_the_colour():
    rgb = np.full((20, 20, 3), (200, 10, 10), np.uint8)
    alpha = np.zeros((20, 20))
    alpha[:, 10:] = 1.0
    im = np.asarray(on_checkerboard(rgb, alpha))
    assert set(np.unique(im[:, :10])) == {204, 255}  # grey checks
    assert (im[:, 10:] == (200, 10, 10)).all()


def test_gallery_has_a_sheet_per_item_with_every_run_and_an_offline_index(tmp_path):
    eval_set = load_eval_set(write_synthetic_set(tmp_path / "set"))
    good = save_alpha_predictions(eval_set, tmp_path / "good", lambda g: g)
    bad = save_alpha_predictions(eval_set, tmp_path / "bad", lambda g: np.roll(g, 20, axis=1))
    (bad / f"{eval_set.items[0].name}.png").unlink()  # a peer that skipped an item
    runs = [GalleryRun(label, d, score_predictions(eval_set, d)) for label, d in (("ours", good), ("peer", bad))]

    index = write_gallery(tmp_path / "gallery", eval_set, runs)

    html = index.read_text()
    for item in eval_set.items:
        with Image.open(index.parent / f"{item.name}.png") as sheet, Image.open(item.photo_path) as photo:
            tile_w = round(photo.width * TILE_HEIGHT / photo.height)
            assert sheet.width >= 4 * tile_w and sheet.height > TILE_HEIGHT  # photo, GT, ours, peer
        assert f'src="{item.name}.png"' in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing fetched from the network
    assert "<script" not in html
    body = html.split("</style>")[1]
    # ours is the GT (the 16-bit one up to 8-bit rounding): it wins everywhere except the empty photo
    assert body.count('class="wins"') == len(eval_set) - 1 and body.count('class="tie"') == 1
    assert 'class="loses"' not in body


def test_the_index_lists_the_worst_holes_and_ghosts_first_with_each_runs_share(tmp_path):
    eval_set = load_eval_set(write_synthetic_set(tmp_path / "set"))
    names = [it.name for it in eval_set.items]
    holey, ghostly = names[1], names[3]

    def damage(gt, name):
        if name == holey:
            return np.where(gt >= 0.95, 0.5, gt)  # a see-through subject: 100 % holes
        if name == ghostly:
            return np.where(gt <= 0.05, 0.3, gt)  # a ghost over the whole background
        return gt

    out = tmp_path / "ours"
    out.mkdir()
    for item in eval_set.items:
        a = np.clip(damage(item.load_gt(), item.name), 0, 1)
        Image.fromarray(np.round(a * 255).astype(np.uint8)).save(out / f"{item.name}.png")
    result = score_predictions(eval_set, out)
    index = write_gallery(tmp_path / "gallery", eval_set, [GalleryRun("ours", out, result)])

    body = index.read_text().split("</style>")[1]
    order = [m for m in re.findall(r'<tr><td><a href="([^"]+)\.png"', body)]
    assert set(order[:2]) == {holey, ghostly} and set(order[2:]) == set(names) - {holey, ghostly}
    assert result.row(holey)["holes"] == 1.0 and "100.0% / 0.0%" in body
    assert result.row(ghostly)["ghosts"] == 1.0 and "0.0% / 100.0%" in body
