"""``bgremover remove``: cut out files, directories or stdin, writing ``OUTDIR/<stem>.<format>``.

A bad file is reported and skipped, the others go on; the exit code is 1 when any failed, 2 for a
usage error. Heavy modules (numpy, Pillow, onnxruntime) are imported inside the command.
"""
from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from bgremover.pipeline.remover import CutoutOptions, Remover

# Directory walks pick files by name (the bytes are still what decides the format); files named on
# the command line are always tried.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp"}
EXIT_FAILED, EXIT_USAGE = 1, 2


def register(app: typer.Typer) -> None:
    app.command("remove")(remove)


def remove(
    inputs: list[str] = typer.Argument(..., metavar="INPUT...", help="Image files, directories, or - for stdin "
                                       "(the cut-out then goes to stdout)."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="Where to write <stem>.<format> "
                                              "(created if missing). Required unless the input is -."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Preset (default: BGREMOVER_DEFAULT_MODEL, "
                                        "else the catalog's default; see `bgremover models list`)."),
    fmt: str = typer.Option("png", "--format", "-f", help="png or webp."),
    lossy: bool = typer.Option(False, "--lossy", help="WebP only: lossy colour (alpha stays exact); much smaller."),
    quality: int = typer.Option(90, "--quality", min=1, max=100, help="Lossy WebP quality."),
    alpha_only: bool = typer.Option(False, "--alpha-only", help="Write the matte alone (greyscale)."),
    crop: bool = typer.Option(False, "--crop", help="Crop to the subject."),
    crop_margin: int = typer.Option(0, "--crop-margin", min=0, help="Pixels kept around the subject with --crop."),
    bg_color: Optional[str] = typer.Option(None, "--bg-color", help="Put the cut-out on this colour (a CSS name "
                                           "such as white, #rrggbb, or #rrggbbaa to keep some transparency)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Walk directories recursively."),
) -> None:
    """Remove the background of images (JPEG, PNG, WebP) and write transparent PNG or WebP cut-outs."""
    from rich.console import Console

    from bgremover.config import load_settings
    from bgremover.errors import BgRemoverError
    from bgremover.pipeline.remover import CutoutOptions, Remover
    from bgremover.service.models import ModelCatalog

    err = Console(stderr=True, soft_wrap=True)  # no line breaks inserted into paths and messages
    fmt = fmt.lower()
    opts = CutoutOptions(model=model, format=fmt, channels="alpha" if alpha_only else "rgba", crop=crop,
                         crop_margin=crop_margin, bg_color=bg_color, lossless=not lossy, quality=quality)
    try:
        opts.validate()
    except ValueError as exc:
        _usage_error(err, str(exc))
    if lossy and fmt != "webp":
        _usage_error(err, "--lossy applies to --format webp only")
    from_stdin = "-" in inputs
    if from_stdin and len(inputs) > 1:
        _usage_error(err, "- (stdin) cannot be combined with other inputs")
    if from_stdin and output_dir is not None:
        _usage_error(err, "with - the cut-out goes to stdout; leave out --output-dir")
    if from_stdin and sys.stdout.isatty():
        _usage_error(err, "not writing image bytes to a terminal; redirect stdout (> out.png) or pass files and -o")
    if not from_stdin and output_dir is None:
        _usage_error(err, "missing --output-dir / -o (where to write the cut-outs)")

    settings = load_settings()
    try:
        preset = ModelCatalog(settings).resolve(model)  # the server's rules: default, licence, weights
        opts = replace(opts, model=preset.name)
        remover = Remover(settings)
        remover.load_models(preset.name)  # once, up front: a corrupt model is one clear error too
    except BgRemoverError as exc:
        _report(err, "error", f"[{exc.code}] {exc.message}")
        raise typer.Exit(EXIT_FAILED) from None

    if from_stdin:
        raise typer.Exit(_remove_stdin(remover, opts, err))
    assert output_dir is not None
    jobs, problems = plan_outputs(inputs, output_dir, fmt, recursive)
    for path, why in problems:
        _report(err, "skipped", f"{path}: {why}")
    failed = len(problems) + _remove_files(remover, opts, jobs, err)
    done = len(jobs) - (failed - len(problems))
    if len(jobs) == 1 and not failed:
        typer.echo(str(jobs[0][1]))
    else:
        err.print(f"{done} written to {output_dir}, {failed} failed", markup=False, highlight=False)
    if failed or not jobs:
        if not jobs and not problems:
            _report(err, "error", "no images found in the inputs")
        raise typer.Exit(EXIT_FAILED)


def _report(console: Console, label: str, message: str) -> None:
    """One line on stderr: a red label, then the message as plain text (brackets in it are not markup)."""
    from rich.markup import escape

    console.print(f"[red]{label}:[/red] {escape(message)}", highlight=False)


def _usage_error(err: Console, message: str) -> None:
    _report(err, "error", message)
    raise typer.Exit(EXIT_USAGE)


def plan_outputs(inputs: list[str], output_dir: Path, fmt: str,
                 recursive: bool) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]]]:
    """(input, output) pairs, and (input, reason) for inputs that cannot be processed.

    Files found inside a directory keep their sub-directory under OUTDIR, so two ``a.jpg`` in different
    folders do not overwrite each other; a name clash that remains (``a.jpg`` and ``a.png``) is reported.
    """
    jobs: list[tuple[Path, Path]] = []
    problems: list[tuple[str, str]] = []
    claimed: dict[Path, Path] = {}
    for arg in inputs:
        root = Path(arg)
        if root.is_dir():
            walk = root.rglob("*") if recursive else root.iterdir()
            found = sorted(p for p in walk if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            pairs = [(p, output_dir / p.relative_to(root).parent / f"{p.stem}.{fmt}") for p in found]
        elif root.is_file():
            pairs = [(root, output_dir / f"{root.stem}.{fmt}")]
        else:
            problems.append((arg, "no such file or directory"))
            continue
        for src, dst in pairs:
            first = claimed.setdefault(dst.resolve(), src)
            if first != src:
                problems.append((str(src), f"its output {dst} would overwrite the cut-out of {first}"))
            else:
                jobs.append((src, dst))
    return jobs, problems


def _remove_files(remover: Remover, opts: CutoutOptions, jobs: list[tuple[Path, Path]], err: Console) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    failed = 0
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=len(jobs) < 2, transient=False) as progress:
        task = progress.add_task("removing backgrounds", total=len(jobs))
        for src, dst in jobs:
            problem = _remove_one(remover, opts, src, dst)
            if problem:
                failed += 1
                _report(progress.console, "failed", f"{src}: {problem}")
            progress.advance(task)
    return failed


def _remove_one(remover: Remover, opts: CutoutOptions, src: Path, dst: Path) -> str | None:
    """Cut out one file; the reason it failed, or None. The output appears whole or not at all."""
    from bgremover.errors import BgRemoverError, ImageTooLarge

    limit = remover.settings.max_image_bytes
    try:
        size = src.stat().st_size
        if size > limit:  # do not even read it
            raise ImageTooLarge(f"image is {size:,} bytes; the limit is {limit:,} bytes")
        cutout = remover.remove(src.read_bytes(), opts)
        write_atomically(dst, cutout.data)
    except BgRemoverError as exc:
        return f"[{exc.code}] {exc.message}"
    except OSError as exc:
        return f"[io_error] {exc.strerror or exc}"
    except Exception as exc:  # an engine bug must not stop the batch; it is still reported and counted
        return f"[internal_error] {type(exc).__name__}: {exc}"
    return None


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a cut-out is as readable as any file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stdin(remover: Remover, opts: CutoutOptions, err: Console) -> int:
    from bgremover.errors import BgRemoverError, ImageTooLarge

    limit = remover.settings.max_image_bytes
    data = sys.stdin.buffer.read(limit + 1)
    try:
        if len(data) > limit:
            raise ImageTooLarge(f"image on stdin is over the limit of {limit:,} bytes")
        cutout = remover.remove(data, opts)
    except BgRemoverError as exc:
        _report(err, "error", f"[{exc.code}] {exc.message}")
        return EXIT_FAILED
    sys.stdout.buffer.write(cutout.data)
    sys.stdout.buffer.flush()
    return 0
