"""``bgremover worker``: a queue consumer with N worker processes; SIGTERM finishes the current task, then exits."""
from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(concurrency: int = typer.Option(1, "--concurrency", "-c", min=1,
                                               help="Worker processes (each loads the models once)."),
               parent_pid: int = typer.Option(0, "--parent-pid", hidden=True,
                                              help="Exit gracefully when this process is gone (used by serve).")
               ) -> None:
        """Process queued tasks (run beside `bgremover serve --api-only` in scale-out deployments)."""
        from bgremover.cli.logs import configure_logging
        from bgremover.config import load_settings
        from bgremover.jobs.worker import run_worker

        settings = load_settings()
        configure_logging(settings)
        run_worker(settings, concurrency=concurrency, parent_pid=parent_pid or None)
