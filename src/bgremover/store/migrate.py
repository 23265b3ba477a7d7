"""Run the packaged Alembic migrations programmatically (``bgremover db upgrade``, ``serve`` in embedded mode)."""
from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from bgremover.store.engine import make_engine


def alembic_config(engine: Engine | None = None) -> Config:
    here = resources.files("bgremover.store")
    cfg = Config(str(here / "alembic.ini"))
    cfg.set_main_option("script_location", str(here / "migrations"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(url_or_engine: str | Engine, revision: str = "head") -> None:
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        command.upgrade(alembic_config(engine), revision)
    finally:
        if engine is not url_or_engine:
            engine.dispose()  # an engine made here: its pooled connection is not left open for the process's life


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
