"""What one API process holds: built by ``create_app(settings)``, reached through ``request.app.state.bg``."""
from __future__ import annotations

from dataclasses import dataclass, field

from bgremover.config import Settings
from bgremover.providers.config import ProvidersConfig, load_providers
from bgremover.service.models import ModelCatalog
from bgremover.service.tasks import TaskQueue
from bgremover.store.base import RateCounter, ResultStore
from bgremover.store.database import Database
from bgremover.web.metrics import Metrics
from bgremover.web.task_watch import TaskWatch


@dataclass
class AppState:
    settings: Settings
    db: Database
    blobs: ResultStore
    queue: TaskQueue
    secret: bytes
    models: ModelCatalog  # the catalog and which models can run here; the API process never runs a model
    rate_counter: RateCounter
    metrics: Metrics
    watch: TaskWatch  # wakes the requests held open until their task finishes (``wait``, the remove.bg route)
    # the operator's providers file (BGREMOVER_PROVIDERS): routes and health on /models and GET /api/v1/models
    providers: ProvidersConfig = field(default_factory=lambda: load_providers(None))
