"""``bgremover db upgrade``: apply the schema migrations (SQLite or PostgreSQL)."""
from __future__ import annotations

import typer

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Upgrade the database at BGREMOVER_DATABASE_URL (default: SQLite in the data dir) to REVISION."""
    from bgremover.config import load_settings
    from bgremover.store.engine import engine_from_settings
    from bgremover.store.migrate import current_revision, upgrade

    engine = engine_from_settings(load_settings())
    upgrade(engine, revision)
    typer.echo(f"database at revision {current_revision(engine)}")


@db_app.command("current")
def current_cmd() -> None:
    """Print the database's current revision."""
    from bgremover.config import load_settings
    from bgremover.store.engine import engine_from_settings
    from bgremover.store.migrate import current_revision

    typer.echo(current_revision(engine_from_settings(load_settings())) or "none")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
