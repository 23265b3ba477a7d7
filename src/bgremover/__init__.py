"""bgremover: self-hostable background removal with real alpha mattes.

``from bgremover import remove, Remover``. The heavy engine is imported on first use of those
names, so ``import bgremover`` (and ``bgremover --version``) stays instant.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["BgRemoverError", "Cutout", "CutoutOptions", "Remover", "__version__", "remove"]

if TYPE_CHECKING:
    from bgremover.errors import BgRemoverError
    from bgremover.pipeline.remover import Cutout, CutoutOptions, Remover, remove


def __getattr__(name: str) -> Any:
    if name == "BgRemoverError":
        from bgremover import errors

        return errors.BgRemoverError
    if name in ("Cutout", "CutoutOptions", "Remover", "remove"):
        from bgremover.pipeline import remover

        return getattr(remover, name)
    raise AttributeError(f"module 'bgremover' has no attribute {name!r}")
