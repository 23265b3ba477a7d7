"""Who produces a task's cut-out: one call, so that another producer (an upstream provider) can stand in for the
local pipeline without the task run (``service/processing.py``) changing."""
from __future__ import annotations

from typing import Protocol

from bgremover.config import Settings
from bgremover.pipeline.remover import Cutout, CutoutOptions, Remover


class CutoutProducer(Protocol):
    """Image bytes and the task's options in, the encoded cut-out out; errors are ``BgRemoverError`` with a code."""

    def produce(self, data: bytes, options: CutoutOptions) -> Cutout: ...


class LocalPipeline:
    """The engine on this machine: one :class:`Remover` (one copy of each model) per process, built at first use."""

    def __init__(self, settings: Settings, remover: Remover | None = None) -> None:
        self.settings = settings
        self._remover = remover

    @property
    def remover(self) -> Remover:
        if self._remover is None:
            self._remover = Remover(self.settings)
        return self._remover

    def produce(self, data: bytes, options: CutoutOptions) -> Cutout:
        return self.remover.remove(data, options)
