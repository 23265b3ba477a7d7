"""Score a set: either predictions already on disk, or a preset run here through ``Remover.matte``.

A prediction is ``PRED_DIR/NAME.png`` at the photo's size; its alpha is scored. A missing or wrongly
sized prediction is scored as fully transparent and flagged (policy ``zero``, the reference scorer's
default), so a run cannot look better by skipping hard images; ``skip`` leaves such items out.
A preset's matte is scored as the 8-bit alpha it would ship, so the numbers equal the reference
scorer's on the saved predictions.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bgremover.evaluation.aggregate import Row, aggregate, aggregate_groups, strip_private
from bgremover.evaluation.dataset import EvalItem, EvalSet, load_alpha
from bgremover.evaluation.metrics import score_item

if TYPE_CHECKING:
    from bgremover.pipeline.remover import Remover

MISSING_POLICIES = ("zero", "skip")
OnItem = Callable[[EvalItem, Row], None]


@dataclass
class EvalResult:
    label: str
    set_dir: Path
    rows: list[Row]
    by: str | None = None
    pred_dir: Path | None = None
    model: str | None = None
    missing_policy: str = "zero"
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def aggregate(self) -> dict[str, Any]:
        return aggregate(self.rows)

    @property
    def groups(self) -> dict[str, dict[str, Any]]:
        return aggregate_groups(self.rows) if self.by else {}

    def row(self, name: str) -> Row | None:
        return next((r for r in self.rows if r["name"] == name), None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label, "set": str(self.set_dir.resolve()),
            "pred": str(self.pred_dir.resolve()) if self.pred_dir else None, "model": self.model,
            "missing_policy": self.missing_policy, "seconds": round(self.seconds, 2),
            "aggregate": self.aggregate, "items": self.rows, **self.extra,
        }
        if self.by:
            out["by"] = self.by
            out["groups"] = self.groups
        return strip_private(out)


def _score(item: EvalItem, pred: np.ndarray | None, gt: np.ndarray, missing: str, by: str | None) -> Row:
    row: Row = {"name": item.name, "kind": item.kind}
    if by:
        row["group"] = item.field(by)
    flag = None
    if pred is not None and pred.shape != gt.shape:
        flag = f"size {pred.shape[1]}x{pred.shape[0]} != gt {gt.shape[1]}x{gt.shape[0]}"
        pred = None
    if pred is None:
        row["flag"] = flag or "missing"
        if missing == "skip":
            row["scored"] = False
            return row
        pred = np.zeros_like(gt)
    row.update({"h": gt.shape[0], "w": gt.shape[1], "scored": True})
    row.update(score_item(item.kind, pred, gt))
    return row


def _check_policy(missing: str) -> None:
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing policy must be one of {MISSING_POLICIES}, not {missing!r}")


def score_predictions(eval_set: EvalSet, pred_dir: str | Path, *, label: str | None = None,
                      missing: str = "zero", by: str | None = "dataset", on_item: OnItem | None = None) -> EvalResult:
    """Score ``pred_dir/NAME.png`` for every item of the set."""
    _check_policy(missing)
    pred_dir = Path(pred_dir)
    t0 = time.perf_counter()
    rows = []
    for item in eval_set.items:
        gt = item.load_gt()
        path = pred_dir / f"{item.name}.png"
        pred = load_alpha(path) if path.is_file() else None
        row = _score(item, pred, gt, missing, by)
        rows.append(row)
        if on_item:
            on_item(item, row)
    return EvalResult(label=label or pred_dir.name, set_dir=eval_set.root, rows=rows, by=by, pred_dir=pred_dir,
                      missing_policy=missing, seconds=time.perf_counter() - t0)


def run_preset(eval_set: EvalSet, remover: Remover, model: str | None = None, *,
               save_dir: str | Path | None = None, by: str | None = "dataset",
               on_item: OnItem | None = None) -> EvalResult:
    """Cut out every photo with a preset and score the 8-bit alpha; optionally save NAME.png (RGBA)."""
    from bgremover.imaging.compose import compose_cutout
    from bgremover.imaging.decode import decode_image
    from bgremover.imaging.encode import encode_image

    preset = remover.preset(model)
    save = Path(save_dir) if save_dir is not None else None
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = []
    for item in eval_set.items:
        gt = item.load_gt()
        img = decode_image(item.photo_path.read_bytes(), max_bytes=remover.settings.max_image_bytes,
                           max_pixels=remover.settings.max_image_pixels)
        t_item = time.perf_counter()
        matte = remover.matte(img.rgb, preset.name)
        seconds = time.perf_counter() - t_item
        rgba = compose_cutout(matte.foreground, matte.alpha)
        if save is not None:
            (save / f"{item.name}.png").write_bytes(encode_image(rgba, "png"))
        pred = rgba[..., 3].astype(np.float64) / 255.0
        row = _score(item, pred, gt, "zero", by)
        row["seconds"] = round(seconds, 4)
        rows.append(row)
        if on_item:
            on_item(item, row)
    return EvalResult(label=preset.name, set_dir=eval_set.root, rows=rows, by=by, pred_dir=save,
                      model=preset.name, seconds=time.perf_counter() - t0,
                      extra={"matte_seconds": round(sum(r["seconds"] for r in rows), 2)})
