"""API keys: ``aio_`` + 43 random characters, shown once, stored only as HMAC-SHA256 under the server secret.

The keyed hash lets us look a key up by equality without keeping anything that would work as a key.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from bgremover.service.accounts import Account, _account
from bgremover.service.errors import KeyNotFound
from bgremover.store.database import Database
from bgremover.store.tables import accounts, api_keys, utcnow

KEY_PREFIX = "aio_"
PREFIX_LEN = 12  # shown in listings: "aio_" + 8 characters
LAST_USED_RESOLUTION = timedelta(seconds=60)  # don't write on every request


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    account_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_key(secret: bytes, key: str) -> str:
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def looks_like_key(key: str) -> bool:
    return key.startswith(KEY_PREFIX) and 36 <= len(key) <= 200


def create_key(db: Database, secret: bytes, *, account_id: int, name: str = "") -> tuple[ApiKeyInfo, str]:
    """A new key for the account: its info and the plaintext, which is never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    with db.write() as conn:
        key_id = conn.execute(insert(api_keys).values(
            account_id=account_id, name=name, prefix=key[:PREFIX_LEN], key_hash=hash_key(secret, key),
            created_at=now).returning(api_keys.c.id)).scalar_one()
    return ApiKeyInfo(key_id, account_id, name, key[:PREFIX_LEN], now, None, None), key


def authenticate(db: Database, secret: bytes, key: str) -> tuple[Account, int] | None:
    """The account and key id for a live key, else None. Revocation is seen by the next request."""
    if not looks_like_key(key):
        return None
    digest = hash_key(secret, key)
    with db.read() as conn:
        row = conn.execute(
            select(api_keys.c.id.label("key_id"), api_keys.c.last_used_at, accounts)
            .join(accounts, accounts.c.id == api_keys.c.account_id)
            .where(api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None))).first()
    if row is None or not hmac.compare_digest(digest, hash_key(secret, key)):
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        with db.write() as conn:
            conn.execute(update(api_keys).where(api_keys.c.id == row.key_id).values(last_used_at=now))
    return _account(row), int(row.key_id)


def list_keys(db: Database, *, account_id: int) -> list[ApiKeyInfo]:
    with db.read() as conn:
        rows = conn.execute(select(api_keys).where(api_keys.c.account_id == account_id)
                            .order_by(api_keys.c.id)).all()
    return [ApiKeyInfo(r.id, r.account_id, r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at)
            for r in rows]


def revoke_key(db: Database, *, key_id: int, account_id: int | None = None) -> None:
    """Revoke at once; ``account_id`` restricts it to that account's keys (the dashboard)."""
    cond = [api_keys.c.id == key_id]
    if account_id is not None:
        cond.append(api_keys.c.account_id == account_id)
    with db.write() as conn:
        found = conn.execute(select(api_keys.c.id, api_keys.c.revoked_at).where(*cond)).first()
        if found is None:
            raise KeyNotFound(f"no API key with id {key_id}")
        if found.revoked_at is None:
            conn.execute(update(api_keys).where(*cond).values(revoked_at=utcnow()))
