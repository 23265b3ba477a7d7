"""Browser sessions for the dashboard: a random cookie value, kept server-side only as its SHA-256.

Each session carries its own CSRF token (synchronizer pattern): forms post it in a hidden field, the
page's JSON calls send it in a header, and it is compared in constant time with the stored one.
Logging out deletes the row, so a copied cookie stops working at once; a password change ends every
other session of the account.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update

from bgremover.config import Settings
from bgremover.service.accounts import Account, _account, _hasher, verify_password
from bgremover.service.constant_time import same_secret
from bgremover.service.errors import ValidationFailed
from bgremover.store.billing_tables import web_sessions
from bgremover.store.database import Database
from bgremover.store.tables import accounts, utcnow

MIN_PASSWORD_LEN = 10


@dataclass(frozen=True)
class WebSession:
    id_hash: str
    account: Account
    csrf_token: str
    expires_at: datetime

    def csrf_ok(self, token: str | None) -> bool:
        return same_secret(self.csrf_token, token)


def _digest(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


def open_session(db: Database, settings: Settings, *, account_id: int) -> str:
    """A new session; returns the cookie value (never stored)."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    with db.write() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))  # keep the table small
        conn.execute(insert(web_sessions).values(id_hash=_digest(value), account_id=account_id,
                                                 csrf_token=secrets.token_urlsafe(32), created_at=now,
                                                 expires_at=now + timedelta(seconds=settings.session_ttl_s)))
    return value


def find_session(db: Database, cookie_value: str | None) -> WebSession | None:
    if not cookie_value or len(cookie_value) > 100:
        return None
    with db.read() as conn:
        row = conn.execute(select(web_sessions.c.id_hash, web_sessions.c.csrf_token, web_sessions.c.expires_at,
                                  accounts).join(accounts, accounts.c.id == web_sessions.c.account_id)
                           .where(web_sessions.c.id_hash == _digest(cookie_value))).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return WebSession(row.id_hash, _account(row), row.csrf_token, row.expires_at)


def close_session(db: Database, cookie_value: str | None) -> None:
    if cookie_value:
        with db.write() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == _digest(cookie_value)))


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise ValidationFailed(f"the password needs at least {MIN_PASSWORD_LEN} characters")
    if len(password) > 1024:
        raise ValidationFailed("the password is longer than 1024 characters")


def change_password(db: Database, session: WebSession, *, current: str, new: str) -> None:
    """Set a new argon2id hash after checking the current password; other sessions of the account end."""
    if verify_password(db, session.account.email, current) is None:
        raise ValidationFailed("the current password is wrong")
    check_new_password(new)
    with db.write() as conn:
        conn.execute(update(accounts).where(accounts.c.id == session.account.id)
                     .values(password_hash=_hasher.hash(new)))
        conn.execute(delete(web_sessions).where(web_sessions.c.account_id == session.account.id,
                                                web_sessions.c.id_hash != session.id_hash))
