"""Dependencies point one way: the engine knows nothing of HTTP, databases or queues; the service layer
knows nothing of HTTP, the queue or the CLI; the web and the queue glue reach the engine and the store only
through the service. Checked on the source, so a stray import fails here."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "bgremover"

WEB_QUEUE_CLI = {"fastapi", "starlette", "uvicorn", "huey", "typer", "bgremover.web", "bgremover.jobs",
                 "bgremover.cli"}
STORAGE = {"sqlalchemy", "alembic", "psycopg", "redis", "bgremover.store", "bgremover.service"}

FORBIDDEN = {
    "imaging": WEB_QUEUE_CLI | STORAGE | {"bgremover.inference", "bgremover.pipeline"},
    "inference": WEB_QUEUE_CLI | STORAGE | {"bgremover.pipeline"},
    "pipeline": WEB_QUEUE_CLI | STORAGE,
    "evaluation": WEB_QUEUE_CLI | STORAGE,
    "fetching": WEB_QUEUE_CLI | STORAGE,
    # upstream providers: may use fetching (SSRF policy), imaging, pipeline options, config, errors, catalog
    "providers": WEB_QUEUE_CLI | STORAGE,
    "service": WEB_QUEUE_CLI,
    "store": WEB_QUEUE_CLI | {"bgremover.service"},
    "web": {"bgremover.pipeline", "bgremover.store", "bgremover.cli"},
    "jobs": {"bgremover.pipeline", "bgremover.store", "bgremover.web", "bgremover.cli"},
}

# The composition roots build the store they hand to the service: each process opens its own database.
EXCEPTIONS = {
    ("web/app.py", "bgremover.store.database"): "the API process's composition root opens the database",
    ("web/app.py", "bgremover.store.ratelimit"): "... and picks the rate counter (database or Redis)",
    ("web/app.py", "bgremover.store.results"): "... and the result store (files or database)",
    ("web/state.py", "bgremover.store.base"): "AppState holds what the root built, typed by its interfaces",
    ("web/state.py", "bgremover.store.database"): "AppState holds the database handle the root opened",
    ("jobs/tasks.py", "bgremover.store.database"): "a worker process's composition root opens its own database",
    ("jobs/tasks.py", "bgremover.store.results"): "... and its own result store",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violates(module: str, forbidden: set[str]) -> bool:
    return any(module == f or module.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(layer: str) -> None:
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in imported_modules(path):
            where = str(path.relative_to(PACKAGE))
            if violates(module, FORBIDDEN[layer]) and (where, module) not in EXCEPTIONS:
                bad.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not bad, "\n".join(bad)


def test_every_exception_is_still_needed() -> None:
    """An exception whose import is gone must go too, so the list says what is true."""
    stale = [f"{where} no longer imports {module}" for where, module in EXCEPTIONS
             if module not in imported_modules(PACKAGE / where)]
    assert not stale, "\n".join(stale)
