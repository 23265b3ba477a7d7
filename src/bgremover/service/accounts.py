"""Accounts: an email, an optional argon2id password hash (for the dashboard), an admin flag and balances."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from bgremover.service.errors import AccountExists, AccountNotFound, ValidationFailed
from bgremover.store.database import Database
from bgremover.store.tables import accounts, utcnow

_hasher = PasswordHasher()  # argon2id with the library's current parameters


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    is_admin: bool
    credits_available: int
    credits_reserved: int
    tasks_in_flight: int
    created_at: datetime


def _account(row: object) -> Account:
    m = row._mapping  # type: ignore[attr-defined]
    return Account(id=m["id"], email=m["email"], is_admin=bool(m["is_admin"]),
                   credits_available=int(m["credits_available"]), credits_reserved=int(m["credits_reserved"]),
                   tasks_in_flight=int(m["tasks_in_flight"]), created_at=m["created_at"])


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        raise ValidationFailed(f"not an email address: {email!r}")
    return email


def create_account(db: Database, *, email: str, password: str | None = None, is_admin: bool = False) -> Account:
    email = normalize_email(email)
    pw_hash = _hasher.hash(password) if password else None
    try:
        with db.write() as conn:
            conn.execute(insert(accounts).values(email=email, password_hash=pw_hash, is_admin=is_admin,
                                                 credits_available=0, credits_reserved=0, tasks_in_flight=0,
                                                 created_at=utcnow()))
    except IntegrityError:
        raise AccountExists(f"an account for {email} already exists") from None
    return get_account_by_email(db, email)


def get_account(db: Database, account_id: int) -> Account:
    with db.read() as conn:
        row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    if row is None:
        raise AccountNotFound(f"no account with id {account_id}")
    return _account(row)


def get_account_by_email(db: Database, email: str) -> Account:
    email = normalize_email(email)
    with db.read() as conn:
        row = conn.execute(select(accounts).where(accounts.c.email == email)).first()
    if row is None:
        raise AccountNotFound(f"no account for {email}")
    return _account(row)


_DUMMY_HASH: str | None = None


def _verify_dummy(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-real-password")
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


def verify_password(db: Database, email: str, password: str) -> Account | None:
    """The account when the password matches its argon2id hash, else None (same answer for unknown emails)."""
    with db.read() as conn:
        row = conn.execute(select(accounts).where(accounts.c.email == email.strip().lower())).first()
    if row is None or not row.password_hash:
        _verify_dummy(password)  # same work as a real check, so timing does not tell which emails exist
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except VerificationError:
        return None
    return _account(row)
