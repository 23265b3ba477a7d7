"""Service tests use the shared database fixture (tests/db_fixtures.py): SQLite, and PostgreSQL in its own schema."""
from db_fixtures import db  # noqa: F401  (a pytest fixture)
