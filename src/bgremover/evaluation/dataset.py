"""An evaluation set on disk: ``images/NAME.jpg``, ``gt/NAME.png`` and ``manifest.json``.

The layout and the way a PNG becomes an alpha in [0, 1] follow the reference scorer
(``shared/eval/evalcut.py``) exactly, so both read the same numbers from the same files.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bgremover.errors import BgRemoverError

KINDS = ("mask", "alpha")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


class InvalidEvalSet(BgRemoverError):
    """The set directory lacks its manifest, or the manifest is malformed."""

    code = "invalid_eval_set"


@dataclass(frozen=True)
class EvalItem:
    name: str
    kind: str  # "mask" (salient-object GT, binarised) | "alpha" (a real matte)
    root: Path
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def gt_path(self) -> Path:
        return self.root / "gt" / f"{self.name}.png"

    @property
    def photo_path(self) -> Path:
        for suffix in PHOTO_SUFFIXES:
            p = self.root / "images" / f"{self.name}{suffix}"
            if p.is_file():
                return p
        raise InvalidEvalSet(f"item {self.name!r}: no photo images/{self.name}.jpg (or .png, .webp) in {self.root}")

    def field(self, key: str) -> str:
        """A manifest field as a group label (``dataset``, ``kind``, ...)."""
        return str(self.meta.get(key))

    def load_gt(self) -> np.ndarray:
        if not self.gt_path.is_file():
            raise InvalidEvalSet(f"item {self.name!r}: ground truth {self.gt_path} is missing")
        return load_alpha(self.gt_path)


@dataclass(frozen=True)
class EvalSet:
    root: Path
    items: tuple[EvalItem, ...]

    def subset(self, limit: int | None = None, names: set[str] | None = None) -> EvalSet:
        items = [it for it in self.items if names is None or it.name in names]
        return EvalSet(self.root, tuple(items[:limit] if limit is not None else items))

    def __len__(self) -> int:
        return len(self.items)


def load_eval_set(root: str | Path) -> EvalSet:
    """Read ``manifest.json`` (``{"items": [...]}`` or a bare list) and check every item's kind."""
    root = Path(root)
    manifest = root / "manifest.json"
    if not manifest.is_file():
        raise InvalidEvalSet(f"{root} is not an evaluation set: {manifest} is missing "
                             "(expected images/, gt/ and manifest.json)")
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidEvalSet(f"cannot read {manifest}: {exc}") from exc
    raw = data.get("items") if isinstance(data, dict) else data
    if not isinstance(raw, list):
        raise InvalidEvalSet(f"{manifest}: expected a list of items or {{\"items\": [...]}}")
    items = []
    for i, it in enumerate(raw):
        if not isinstance(it, dict) or not isinstance(it.get("name"), str):
            raise InvalidEvalSet(f"{manifest}: item {i} has no name")
        kind = it.get("kind", "mask")
        if kind not in KINDS:
            raise InvalidEvalSet(f"{manifest}: item {it['name']!r} has unknown kind {kind!r} (mask or alpha)")
        items.append(EvalItem(name=it["name"], kind=kind, root=root, meta={**it, "kind": kind}))
    return EvalSet(root, tuple(items))


def load_alpha(path: str | Path) -> np.ndarray:
    """A PNG as float64 in [0, 1]: its alpha channel if it has one, else its grey level (8 or 16 bit)."""
    with Image.open(path) as im:
        im.load()
        if im.mode == "P":
            im = im.convert("RGBA")
        if im.mode in ("RGBA", "LA", "PA"):
            a = np.asarray(im.getchannel("A"), dtype=np.float64) / 255.0
        elif im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(im, dtype=np.float64)
            a = arr / (65535.0 if arr.max() > 255 or im.mode.startswith("I;16") else 255.0)
        elif im.mode == "F":
            a = np.asarray(im, dtype=np.float64)
            if a.max() > 1.0:
                a = a / 255.0
        elif im.mode == "1":
            a = np.asarray(im, dtype=np.float64)
        else:
            a = np.asarray(im.convert("L"), dtype=np.float64) / 255.0
    return np.clip(a, 0.0, 1.0)
