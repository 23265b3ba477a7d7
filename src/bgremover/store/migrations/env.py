"""Alembic environment: online migrations over the engine handed in by bgremover.store.migrate."""
from __future__ import annotations

from alembic import context

import bgremover.store.billing_tables  # noqa: F401  (the dashboard's tables share this metadata)
from bgremover.store.tables import metadata

engine = context.config.attributes.get("engine")
if engine is None:  # run by the alembic CLI: take the URL from the settings
    from bgremover.config import load_settings
    from bgremover.store.engine import engine_from_settings

    engine = engine_from_settings(load_settings())

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
