"""``bgremover serve``: the whole service on one machine — migrations, worker processes, then the HTTP API."""
from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(host: str = typer.Option(None, help="Address to bind (default: BGREMOVER_HOST, 127.0.0.1)."),
              port: int = typer.Option(None, help="Port (default: BGREMOVER_PORT, 8000)."),
              workers: int = typer.Option(None, help="Worker processes to start and supervise (default: "
                                                     "BGREMOVER_WORKERS; 0: picked from the cores)."),
              api_only: bool = typer.Option(False, "--api-only", help="Serve the API only; workers run elsewhere "
                                                                       "(`bgremover worker`).")) -> None:
        """Run the API and its workers. Ctrl-C stops everything (workers finish their current task)."""
        import logging

        import uvicorn

        from bgremover.cli.logs import configure_logging
        from bgremover.config import load_settings
        from bgremover.jobs.cores import available_cores, plan_cores, worker_env
        from bgremover.jobs.supervisor import WorkerSupervisor
        from bgremover.service.models import ModelCatalog
        from bgremover.service.secret_key import load_secret_key
        from bgremover.store.migrate import upgrade
        from bgremover.web.app import create_app

        settings = load_settings()
        configure_logging(settings)
        log = logging.getLogger("bgremover.serve")
        if settings.effective_database_url.startswith("sqlite"):  # embedded: we own the database
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            upgrade(settings.effective_database_url)
        load_secret_key(settings)  # create it once, before any child process races for it
        app_ = create_app(settings)
        cores = available_cores()
        plan = plan_cores(settings, cores, workers=workers)
        count = 0 if api_only else plan.workers
        supervisor = WorkerSupervisor(count, env=worker_env(plan))
        supervisor.start()
        bind_host, bind_port = host or settings.host, port or settings.port
        if count:
            log.info("cores: %s", plan.describe(cores))
        log.info("serving on http://%s:%d with %d worker process(es)", bind_host, bind_port, count)
        default = ModelCatalog(settings).default_problem()  # e.g. its int8 copy not built: say so now, not per request
        if default is not None:
            log.warning("the default model cannot run here, so requests for it fail: %s", default.message)
        try:
            # X-Forwarded-For/-Proto count only from BGREMOVER_TRUSTED_PROXIES (uvicorn's own default trusts 127.0.0.1)
            uvicorn.Server(uvicorn.Config(app_, host=bind_host, port=bind_port, access_log=False, log_config=None,
                                          timeout_graceful_shutdown=10, proxy_headers=True,
                                          forwarded_allow_ips=settings.trusted_proxies)).run()
        finally:
            supervisor.stop()
