"""The ``bgremover`` command: a typer root that each sub-module registers its commands on.

Sub-modules import their heavy dependencies inside the command functions, so ``--version``
and ``--help`` answer at once.
"""
from __future__ import annotations

import importlib

import typer
import typer.main

from bgremover import __version__

app = typer.Typer(help="bgremover: background removal with real alpha mattes — CLI, service and tools.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

# Each module has ``register(app)``; the order is the order of ``--help``.
COMMAND_MODULES = ["remove", "models", "evaluate", "bench", "drip", "cores", "loadtest", "serve", "worker", "admin",
                   "db", "api"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bgremover {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    pass


for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"bgremover.cli.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"bgremover.cli.{_name}":
            raise
        continue
    _mod.register(app)


def _flags_show_no_type(command: object) -> None:
    """Typer's rich help prints ``<bool>`` beside plain flags (``--crop``), as if they took a value: an empty
    metavar hides it. Recursive over sub-commands; the help option is made here so it is covered too."""
    params = list(getattr(command, "params", []))
    help_option = command.get_help_option(typer.Context(command))  # type: ignore[attr-defined]
    for param in [*params, help_option]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _flags_show_no_type(sub)


def main() -> None:
    command = typer.main.get_command(app)
    _flags_show_no_type(command)
    command(prog_name="bgremover")
