"""Tuning part and confirmation part of a set: k folds, fixed by each item's name alone.

The best of many variants on one small set is partly luck; a choice is only believed when it holds
on items it was not tuned on. An item's fold is a hash of its name, so it does not move when items
are added, removed or reordered, nor between machines, runs or Python versions. ``"2/5"`` is fold 2
of 5 (the confirmation part), ``"~2/5"`` every other fold (the tuning part); ``"0/1"`` is the whole set.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass


def fold_of(name: str, folds: int) -> int:
    """The fold (0 .. folds-1) of the item called ``name``."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % folds


@dataclass(frozen=True)
class FoldSpec:
    index: int
    folds: int
    complement: bool = False  # every fold but ``index``

    def __post_init__(self) -> None:
        if self.folds < 1 or not 0 <= self.index < self.folds:
            raise ValueError(f"fold {self.index} of {self.folds}: need 0 <= fold < folds")

    def holds(self, name: str) -> bool:
        return (fold_of(name, self.folds) == self.index) != self.complement

    def select(self, names: list[str]) -> list[str]:
        return [n for n in names if self.holds(n)]

    def __str__(self) -> str:
        return f"{'~' if self.complement else ''}{self.index}/{self.folds}"


def parse_fold(text: str) -> FoldSpec:
    """``"I/K"`` (fold I of K) or ``"~I/K"`` (all folds but I) into a FoldSpec."""
    body = text.strip()
    complement = body.startswith("~")
    index, sep, folds = body.removeprefix("~").partition("/")
    try:
        if not sep:
            raise ValueError
        return FoldSpec(int(index), int(folds), complement)
    except ValueError as exc:
        detail = f": {exc}" if str(exc) else ""
        raise ValueError(f"fold must look like I/K (fold I of K) or ~I/K (all but fold I), "
                         f"not {text!r}{detail}") from None
