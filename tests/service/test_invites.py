"""Invitation links: signed, expiring, and spent by the password they set."""
from __future__ import annotations

import time

import pytest

from bgremover.service.accounts import create_account, verify_password
from bgremover.service.errors import ValidationFailed
from bgremover.service.invites import InviteInvalid, accept_invite, check_invite, invite_token

SECRET = b"s" * 32


def test_a_link_sets_the_first_password_once(db):
    acc = create_account(db, email="new@example.com")
    token = invite_token(db, SECRET, account_id=acc.id)
    assert check_invite(db, SECRET, token)[0].email == "new@example.com"
    accept_invite(db, SECRET, token, password="a good password")
    assert verify_password(db, "new@example.com", "a good password") is not None
    with pytest.raises(InviteInvalid):
        accept_invite(db, SECRET, token, password="another password")  # spent: the hash it signed is gone
    assert verify_password(db, "new@example.com", "a good password") is not None


@pytest.mark.parametrize("tamper", ["account", "expiry", "signature", "secret", "shape"])
def test_a_tampered_link_is_refused(db, tamper):
    acc = create_account(db, email="new@example.com")
    other = create_account(db, email="other@example.com")
    token = invite_token(db, SECRET, account_id=acc.id)
    account_id, expires, sig = token.split(".")
    secret = SECRET
    if tamper == "account":
        token = f"{other.id}.{expires}.{sig}"
    elif tamper == "expiry":
        token = f"{account_id}.{int(expires) + 86400}.{sig}"
    elif tamper == "signature":
        token = f"{account_id}.{expires}.{'0' * 64}"
    elif tamper == "secret":
        secret = b"t" * 32
    else:
        token = "not-a-token"
    with pytest.raises(InviteInvalid):
        check_invite(db, secret, token)


def test_an_expired_link_is_refused(db):
    acc = create_account(db, email="new@example.com")
    token = invite_token(db, SECRET, account_id=acc.id, ttl_s=60, now=time.time() - 120)
    with pytest.raises(InviteInvalid, match="expired"):
        check_invite(db, SECRET, token)


def test_a_short_password_is_refused_and_the_link_stays_usable(db):
    acc = create_account(db, email="new@example.com")
    token = invite_token(db, SECRET, account_id=acc.id)
    with pytest.raises(ValidationFailed):
        accept_invite(db, SECRET, token, password="short")
    accept_invite(db, SECRET, token, password="long enough now")
