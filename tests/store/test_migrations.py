"""The Alembic migrations build the schema the code expects, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bgremover.store.migrate import alembic_config, current_revision, upgrade
from bgremover.store.tables import metadata


def test_upgrade_reaches_head_and_creates_every_table(db):
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(db.engine) == head
    tables = set(inspect(db.engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_upgrade_twice_is_a_no_op(db):
    upgrade(db.engine)
    assert current_revision(db.engine) is not None


def test_migrations_match_the_table_definitions(db):
    """A change to store/tables.py without a migration fails here (other features' tables are not ours)."""
    ours = set(metadata.tables)

    def include_name(name, type_, parent_names):
        if type_ == "schema":
            return True
        return name in ours if type_ == "table" else parent_names.get("table_name") in ours

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False, "include_name": include_name})
        assert compare_metadata(ctx, metadata) == []


def test_the_result_box_column_comes_after_the_provider_columns_and_goes_back_down(db):
    """box0001: a nullable ``tasks.result_box`` (tasks finished before it have none: their box is measured)."""
    def columns():
        return {c["name"]: c for c in inspect(db.engine).get_columns("tasks")}

    assert ScriptDirectory.from_config(alembic_config()).get_revision("box0001").down_revision == "prov0001"
    assert columns()["result_box"]["nullable"]
    command.downgrade(alembic_config(db.engine), "prov0001")
    assert "result_box" not in columns() and "provider" in columns()
    upgrade(db.engine)
    assert columns()["result_box"]["nullable"]
