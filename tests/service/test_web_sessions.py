"""Browser sessions: the cookie value is never stored, logout and expiry end a session, CSRF tokens are per session."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bgremover.config import load_settings
from bgremover.service.accounts import create_account, verify_password
from bgremover.service.errors import ValidationFailed
from bgremover.service.web_sessions import change_password, close_session, find_session, open_session
from bgremover.store.billing_tables import web_sessions
from bgremover.store.tables import utcnow

SETTINGS = load_settings(session_ttl_s=3600)
PASSWORD = "correct horse battery"


def test_a_session_is_found_by_its_cookie_and_stored_only_as_a_hash(db):
    acc = create_account(db, email="u@example.com", password=PASSWORD)
    cookie = open_session(db, SETTINGS, account_id=acc.id)
    session = find_session(db, cookie)
    assert session is not None and session.account.email == "u@example.com"
    with db.read() as conn:
        stored = conn.execute(select(web_sessions.c.id_hash)).scalars().all()
    assert stored == [hashlib.sha256(cookie.encode()).hexdigest()] and cookie not in stored
    assert find_session(db, cookie + "x") is None and find_session(db, None) is None


def test_csrf_tokens_differ_per_session_and_compare_exactly(db):
    acc = create_account(db, email="u@example.com", password=PASSWORD)
    one = find_session(db, open_session(db, SETTINGS, account_id=acc.id))
    two = find_session(db, open_session(db, SETTINGS, account_id=acc.id))
    assert one.csrf_token != two.csrf_token
    assert one.csrf_ok(one.csrf_token) and not one.csrf_ok(two.csrf_token)
    assert not one.csrf_ok("") and not one.csrf_ok(None)


def test_logout_and_expiry_end_a_session(db):
    acc = create_account(db, email="u@example.com", password=PASSWORD)
    cookie = open_session(db, SETTINGS, account_id=acc.id)
    close_session(db, cookie)
    assert find_session(db, cookie) is None
    old = open_session(db, SETTINGS, account_id=acc.id)
    with db.write() as conn:
        conn.execute(update(web_sessions).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert find_session(db, old) is None


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(db):
    acc = create_account(db, email="u@example.com", password=PASSWORD)
    here = open_session(db, SETTINGS, account_id=acc.id)
    elsewhere = open_session(db, SETTINGS, account_id=acc.id)
    session = find_session(db, here)
    with pytest.raises(ValidationFailed, match="current password"):
        change_password(db, session, current="wrong", new="a new password 1")
    with pytest.raises(ValidationFailed, match="at least"):
        change_password(db, session, current=PASSWORD, new="short")
    change_password(db, session, current=PASSWORD, new="a new password 1")
    assert verify_password(db, "u@example.com", "a new password 1") is not None
    assert verify_password(db, "u@example.com", PASSWORD) is None
    assert find_session(db, here) is not None and find_session(db, elsewhere) is None
