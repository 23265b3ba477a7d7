"""API keys: shown once, kept only as a keyed hash, listed by prefix, revoked at once."""
from __future__ import annotations

import re

from sqlalchemy import select

from bgremover.service.keys import authenticate, create_key, list_keys, revoke_key
from bgremover.store.tables import api_keys
from service.helpers import make_account

SECRET = b"test-secret"


def test_key_format_and_storage(db):
    acc = make_account(db)
    info, key = create_key(db, SECRET, account_id=acc, name="ci")
    assert re.fullmatch(r"aio_[A-Za-z0-9_-]{43}", key)
    assert info.prefix == key[:12]
    with db.read() as conn:
        row = conn.execute(select(api_keys)).one()
    stored = " ".join(str(v) for v in row)
    assert key not in stored and key[12:] not in stored, "only a keyed hash is stored"
    assert len(row.key_hash) == 64


def test_authenticate_records_last_use_and_revocation_is_immediate(db):
    acc = make_account(db)
    info, key = create_key(db, SECRET, account_id=acc)
    assert list_keys(db, account_id=acc)[0].last_used_at is None
    account, key_id = authenticate(db, SECRET, key)
    assert account.id == acc and key_id == info.id
    assert list_keys(db, account_id=acc)[0].last_used_at is not None
    revoke_key(db, key_id=info.id)
    assert authenticate(db, SECRET, key) is None
    assert list_keys(db, account_id=acc)[0].revoked_at is not None


def test_wrong_secret_or_mangled_key_is_refused(db):
    acc = make_account(db)
    _, key = create_key(db, SECRET, account_id=acc)
    assert authenticate(db, b"another-secret", key) is None
    assert authenticate(db, SECRET, key[:-1] + ("a" if key[-1] != "a" else "b")) is None
    assert authenticate(db, SECRET, "") is None
    assert authenticate(db, SECRET, "Bearer " + key) is None
