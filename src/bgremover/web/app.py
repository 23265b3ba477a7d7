"""The FastAPI application, built by ``create_app(settings)``: the composition root of the API process.

    web/routes/*   one router per resource, thin: parse, call service/, shape the answer (web/views.py)
    web/schemas.py request and response bodies (the contract's field names)
    web/deps.py    app state, API key → account, rate limit
    web/errors.py  error code → HTTP status table and the error envelope
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from bgremover import __version__
from bgremover.config import Settings, load_settings
from bgremover.service.completions import finished_among
from bgremover.service.coverage import configured_health
from bgremover.service.models import ModelCatalog
from bgremover.service.provider_stats import provider_activity, provider_margins
from bgremover.service.secret_key import load_secret_key
from bgremover.service.task_stats import task_figures
from bgremover.service.tasks import TaskQueue
from bgremover.store.database import Database
from bgremover.store.ratelimit import make_rate_counter
from bgremover.store.results import make_result_store
from bgremover.web.access_log import AccessLogMiddleware
from bgremover.web.api_docs import install_api_docs
from bgremover.web.errors import install_error_handlers
from bgremover.web.metrics import Metrics, ProviderCollector
from bgremover.web.openapi_errors import document_errors
from bgremover.web.removebg import router as removebg_router
from bgremover.web.routes import billing, health, models, remove_bg, tasks
from bgremover.web.state import AppState
from bgremover.web.task_watch import TaskWatch

DESCRIPTION = ("Background removal as a service. Submit an image, poll the task, download a PNG/WebP with alpha. "
               "Errors always answer `{\"error\": {\"code\", \"message\"}}`; codes are listed in docs/errors.md.")


def default_queue(settings: Settings) -> TaskQueue:
    from bgremover.jobs.queue import make_huey
    from bgremover.jobs.tasks import register_jobs

    return register_jobs(make_huey(settings), settings).queue


def create_app(settings: Settings | None = None, *, queue: TaskQueue | None = None) -> FastAPI:
    settings = settings or load_settings()
    db = Database.from_settings(settings)
    queue = queue or default_queue(settings)
    catalog = ModelCatalog(settings)
    providers = catalog.providers  # without their keys; a mistake in the file stops the service here, not later
    read_health = (partial(configured_health, db, providers, failures_to_open=settings.provider_breaker_failures)
                   if settings.providers else None)  # without a providers file no attempts are recorded
    provider_figures = ProviderCollector(partial(provider_activity, db), partial(provider_margins, db),
                                         read_health)
    metrics = Metrics(partial(task_figures, db), queue, providers=provider_figures)
    state = AppState(settings=settings, db=db, blobs=make_result_store(settings, db),
                     queue=queue, secret=load_secret_key(settings),
                     models=catalog, rate_counter=make_rate_counter(db, settings), metrics=metrics,
                     watch=TaskWatch(partial(finished_among, db), db.commit_probe()),
                     providers=providers)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        db.dispose()

    app = FastAPI(title="bgremover API", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, openapi_url="/openapi.json", redoc_url=None)
    app.state.bg = state
    install_error_handlers(app)
    install_api_docs(app)
    for module in (remove_bg, tasks, models, billing, health):
        app.include_router(module.router)
    app.include_router(removebg_router)  # remove.bg's protocol: /v1.0/removebg, /v1.0/account
    from bgremover.web.dashboard import install_dashboard

    install_dashboard(app)  # browser pages, console, decision panel, payment webhook (web/dashboard/)
    document_errors(app)  # /openapi.json lists the error statuses we really answer (web/errors.py)
    app.add_middleware(AccessLogMiddleware, metrics=metrics)
    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory bgremover.web.app:app_factory``: settings from the environment."""
    return create_app(load_settings())
