"""Invitations: an admin creates an account without a password and hands its owner a link to choose one.

The token is ``<account id>.<expiry>.<signature>``: an HMAC under the server secret over the account, the
expiry and the account's current password hash. So it needs no table, it expires, and it dies the moment
a password is set (the hash it was signed over is gone); setting the password is a conditional UPDATE on
that same hash, so two tabs racing with one link set it once.
"""
from __future__ import annotations

import hashlib
import hmac
import time

from sqlalchemy import select, update

from bgremover.service.accounts import Account, _account, _hasher
from bgremover.service.constant_time import same_secret
from bgremover.service.errors import InviteInvalid
from bgremover.service.web_sessions import check_new_password
from bgremover.store.database import Database
from bgremover.store.tables import accounts

INVITE_TTL_S = 7 * 24 * 3600


def _signature(secret: bytes, account_id: int, expires: int, password_hash: str | None) -> str:
    msg = f"invite:{account_id}:{expires}:{password_hash or ''}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def invite_token(db: Database, secret: bytes, *, account_id: int, ttl_s: int = INVITE_TTL_S,
                 now: float | None = None) -> str:
    with db.read() as conn:
        row = conn.execute(select(accounts.c.password_hash).where(accounts.c.id == account_id)).first()
    if row is None:
        raise InviteInvalid(f"no account with id {account_id}")
    expires = int((time.time() if now is None else now) + ttl_s)
    return f"{account_id}.{expires}.{_signature(secret, account_id, expires, row.password_hash)}"


def check_invite(db: Database, secret: bytes, token: str, *, now: float | None = None) -> tuple[Account, str | None]:
    """The invited account and the password hash the token was signed over; else InviteInvalid."""
    try:
        account_id_s, expires_s, signature = token.split(".")
        account_id, expires = int(account_id_s), int(expires_s)
    except ValueError:
        raise InviteInvalid("this invitation link is malformed") from None
    with db.read() as conn:
        row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    if row is None or not same_secret(_signature(secret, account_id, expires, row.password_hash), signature):
        raise InviteInvalid("this invitation link is not valid any more; ask for a new one")
    if expires < (time.time() if now is None else now):
        raise InviteInvalid("this invitation link has expired; ask for a new one")
    return _account(row), row.password_hash


def accept_invite(db: Database, secret: bytes, token: str, *, password: str) -> Account:
    """Set the account's first (or next) password through a valid link; the link is spent by it."""
    account, signed_hash = check_invite(db, secret, token)
    check_new_password(password)
    with db.write() as conn:
        current = accounts.c.password_hash.is_(None) if signed_hash is None else accounts.c.password_hash == signed_hash
        res = conn.execute(update(accounts).where(accounts.c.id == account.id, current)
                           .values(password_hash=_hasher.hash(password)))
    if res.rowcount != 1:
        raise InviteInvalid("this invitation link was used a moment ago")
    return account
