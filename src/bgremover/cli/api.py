"""``bgremover api remove``: batch background removal through an API endpoint, N requests at a time.

Each input goes through :class:`bgremover.client.Client` (submit, poll with backoff, download), which
waits out 429s as the server's ``Retry-After`` asks, so ``--concurrency`` above the endpoint's limits
is slower, not broken. Saved paths go to stdout, one per line; progress and per-item errors go to
stderr; the exit code is 1 when any input failed. The API key is read from ``BGREMOVER_API_KEY``
(or ``--api-key``) and never printed.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import typer

if TYPE_CHECKING:
    from bgremover.client import Client

EXIT_FAILED = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def register(app: typer.Typer) -> None:
    api = typer.Typer(help="Use a bgremover API endpoint as a client (batch jobs, scripts).",
                      no_args_is_help=True)
    api.command("remove")(remove)
    app.add_typer(api, name="api")


def remove(
    inputs: list[str] = typer.Argument(..., metavar="URL|FILE...", help="Image URLs (http, https, data:) or files."),
    output_dir: Path = typer.Option(..., "--output-dir", "-o", help="Where to write <name>.<format> (created)."),
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, max=64, help="Requests in flight at once."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model id (default: the endpoint's)."),
    fmt: str = typer.Option("png", "--format", "-f", help="png or webp."),
    base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url", envvar="BGREMOVER_API_URL",
                                 help="The endpoint."),
    api_key: str = typer.Option(..., "--api-key", envvar="BGREMOVER_API_KEY", show_default=False,
                                help="API key; prefer the environment variable (flags show up in `ps`)."),
    timeout: float = typer.Option(300.0, "--timeout", min=1.0, help="Seconds to wait for each image."),
) -> None:
    """Remove the background of many images through the API, with a progress bar."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bgremover.client import Client, ClientError

    err = Console(stderr=True, soft_wrap=True)
    fmt = fmt.lower()
    if fmt not in ("png", "webp"):
        err.print(f"[red]error:[/] --format must be png or webp, not {fmt!r}")
        raise typer.Exit(2)
    output_dir.mkdir(parents=True, exist_ok=True)
    names = output_names(inputs, fmt)
    failed = 0
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Client(base_url, api_key, timeout=60.0, max_retries=20) as client, \
            Progress(*columns, console=err, transient=False) as progress, \
            ThreadPoolExecutor(max_workers=concurrency) as pool:
        bar = progress.add_task("removing backgrounds", total=len(inputs))
        futures = {pool.submit(_one, client, source, output_dir / name, model, fmt, timeout): source
                   for source, name in zip(inputs, names)}
        for future in as_completed(futures):
            source = futures[future]
            try:
                saved = future.result()
            except ClientError as exc:
                failed += 1
                progress.console.print(f"[red]failed[/] {_shown(source)}: {exc.code}: {exc.message}")
            except OSError as exc:
                failed += 1
                progress.console.print(f"[red]failed[/] {_shown(source)}: cannot write: {exc.strerror or exc}")
            except Exception as exc:  # noqa: BLE001 - one bad item must not lose the others
                failed += 1
                progress.console.print(f"[red]failed[/] {_shown(source)}: {type(exc).__name__}: {exc}")
            else:
                typer.echo(str(saved))
            progress.advance(bar)
    err.print(f"{len(inputs) - failed} saved, {failed} failed")
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _one(client: Client, source: str, target: Path, model: str | None, fmt: str, timeout: float) -> Path:
    data = client.remove(source, model, fmt, timeout=timeout)
    partial = target.with_name(f".{target.name}.part")
    partial.write_bytes(data)
    partial.replace(target)  # a reader never sees half a file
    return target


def output_names(inputs: list[str], fmt: str) -> list[str]:
    """``<stem>.<fmt>`` per input, from the file or URL path; repeated stems get ``-2``, ``-3``..."""
    used: set[str] = set()
    names = []
    for i, source in enumerate(inputs, 1):
        if source.startswith(("http://", "https://")):
            stem = Path(unquote(urlsplit(source).path)).stem
        elif source.startswith("data:"):
            stem = ""
        else:
            stem = Path(source).stem
        stem = _UNSAFE.sub("_", stem).strip("._") or f"image-{i}"
        candidate, n = stem, 1
        while candidate.lower() in used:
            n += 1
            candidate = f"{stem}-{n}"
        used.add(candidate.lower())
        names.append(f"{candidate}.{fmt}")
    return names


def _shown(source: str) -> str:
    """An input as it may appear in output: URLs without credentials or query."""
    from bgremover.fetching.url_policy import redact_url

    return redact_url(source) if source.startswith(("http://", "https://", "data:")) else source
