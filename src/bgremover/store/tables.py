"""The database schema as SQLAlchemy Core tables: the single source that migrations are written from.

Timestamps are UTC everywhere (:class:`UtcDateTime`), so SQLite and PostgreSQL compare them alike.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, DateTime, Float, ForeignKey, Index, Integer,
                        LargeBinary, MetaData, String, Table, Text, UniqueConstraint)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s"})


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on both dialects (SQLite stores them naive)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200)),
    Column("is_admin", Boolean, nullable=False, default=False),
    # Balances kept as columns so a reservation is one conditional UPDATE; the ledger explains them.
    Column("credits_available", BigInteger, nullable=False, default=0),
    Column("credits_reserved", BigInteger, nullable=False, default=0),
    Column("tasks_in_flight", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    # The last line of defence: the database itself refuses a negative balance.
    CheckConstraint("credits_available >= 0", name="credits_available_nonnegative"),
    CheckConstraint("credits_reserved >= 0", name="credits_reserved_nonnegative"),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False, default=""),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("delta", BigInteger, nullable=False),  # change of the available balance
    Column("reason", String(20), nullable=False),  # grant | reserve | charge | refund
    Column("task_id", String(36)),
    Column("note", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_ledger_account_id", "account_id", "id"),
)

tasks = Table(
    "tasks", metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("status", String(12), nullable=False),  # queued | processing | succeeded | failed | canceled
    Column("model", String(100), nullable=False),
    Column("output_format", String(8), nullable=False),
    Column("options", Text, nullable=False, default="{}"),  # JSON: channels, crop, crop_margin, bg_color
    Column("source_url", Text),  # http(s) URL to fetch, or None when the input is a stored blob
    Column("input_key", String(100)),
    Column("credits_reserved", Integer, nullable=False),
    Column("credits_charged", Integer, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_token", String(32)),
    Column("lease_expires_at", UtcDateTime),
    Column("queued_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("busy_s", Float, nullable=False, default=0.0),
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("result_key", String(100)),
    Column("result_content_type", String(32)),
    Column("result_width", Integer),
    Column("result_height", Integer),
    Column("result_bytes", Integer),
    Column("result_expires_at", UtcDateTime),
    Column("result_box", String(64)),  # "top,left,width,height": the subject's box in the result, from its matte
    # who served it (issue 16): a provider name from the providers file, or "local"; null before it ran
    Column("provider", String(64)),
    Column("attempts_json", Text),  # JSON list: provider, outcome, reason, latency_s, cost per attempt
    Column("upstream_latency_s", Float),  # the serving provider's round trip
    Column("upstream_cost", Float),  # what the upstreams charged us for this task, in our credits
    Index("ix_tasks_account_created", "account_id", "created_at"),
    Index("ix_tasks_status_lease", "status", "lease_expires_at"),
    Index("ix_tasks_result_expires", "result_expires_at"),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("task_id", String(36), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "key", name="uq_idempotency_account_key"),
    Index("ix_idempotency_keys_created", "created_at"),  # the workers' sweep of expired keys
)

result_blobs = Table(
    "result_blobs", metadata,
    Column("key", String(100), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

rate_counters = Table(
    "rate_counters", metadata,
    Column("bucket", String(100), primary_key=True),
    Column("window_start", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
)
