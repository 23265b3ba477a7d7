"""The operator commands, run as the real ``bgremover`` executable against a fresh data dir."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

BIN = Path(sys.executable).parent / "bgremover"
pytestmark = pytest.mark.slow  # each command is a fresh Python process


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "BGREMOVER_DATA_DIR": str(tmp_path / "data")}
    env.pop("BGREMOVER_SECRET_KEY", None)
    env.pop("BGREMOVER_DATABASE_URL", None)

    def _run(*args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([str(BIN), *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)
        if ok:
            assert p.returncode == 0, p.stderr
        return p

    _run("db", "upgrade")
    return _run


def test_keys_create_prints_only_the_key(run, tmp_path):
    run("accounts", "create", "Ada@Example.com")
    out = run("keys", "create", "ada@example.com", "--name", "laptop").stdout
    assert re.fullmatch(r"aio_[A-Za-z0-9_-]{43}\n", out)
    key = out.strip()
    listing = run("keys", "list", "ada@example.com").stdout
    assert key[:12] in listing and key not in listing and "laptop" in listing and "active" in listing
    secret = tmp_path / "data" / "secret_key"
    assert secret.is_file() and (secret.stat().st_mode & 0o777) == 0o600
    assert key.encode() not in (tmp_path / "data" / "bgremover.db").read_bytes()


def test_revoke(run):
    run("accounts", "create", "bo@example.com")
    run("keys", "create", "bo@example.com")
    key_id = re.search(r"^(\d+)\t", run("keys", "list", "bo@example.com").stdout, re.M).group(1)
    run("keys", "revoke", key_id)
    assert "revoked" in run("keys", "list", "bo@example.com").stdout
    missing = run("keys", "revoke", "999", ok=False)
    assert missing.returncode == 1 and "no API key" in missing.stderr


def test_credits_grant_and_show(run):
    run("accounts", "create", "cy@example.com")
    assert "12 credits" in run("credits", "grant", "cy@example.com", "12", "--note", "welcome").stdout
    assert "10 credits" in run("credits", "grant", "cy@example.com", "--", "-2").stdout
    shown = run("credits", "show", "cy@example.com").stdout
    assert "available: 10" in shown and "reserved: 0" in shown and "welcome" in shown
    bad = run("credits", "grant", "cy@example.com", "--", "-11", ok=False)
    assert bad.returncode == 1 and "negative" in bad.stderr


def test_accounts_create_with_password_and_admin(run, tmp_path):
    run("accounts", "create", "root@example.com", "--admin", "--password-stdin", stdin="correct horse\n")
    from bgremover.service.accounts import verify_password
    from bgremover.store.database import Database
    from bgremover.store.tables import accounts

    db = Database.from_url(f"sqlite:///{tmp_path / 'data' / 'bgremover.db'}")
    with db.read() as conn:
        row = conn.execute(select(accounts)).one()
    assert row.is_admin and row.password_hash.startswith("$argon2id$")
    assert verify_password(db, "root@example.com", "correct horse") is not None
    assert verify_password(db, "root@example.com", "wrong") is None
    dup = run("accounts", "create", "root@example.com", ok=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    unknown = run("keys", "create", "nobody@example.com", ok=False)
    assert unknown.returncode == 1 and unknown.stdout == ""


@pytest.mark.parametrize("command", [["accounts", "create", "you@example.com"], ["keys", "list", "you@example.com"],
                                     ["credits", "show", "you@example.com"]])
def test_outside_any_data_dir_the_commands_say_where_no_database_is_and_create_nothing(tmp_path, command):
    """Run from a folder that is not the project's (no BGREMOVER_DATA_DIR): a clear error, no stray ./data."""
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("BGREMOVER_DATA_DIR", "BGREMOVER_DATABASE_URL",
                                                            "BGREMOVER_SECRET_KEY")}
    p = subprocess.run([str(BIN), *command], env=env, cwd=elsewhere, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    assert "no such table" not in p.stderr and "Traceback" not in p.stderr
    assert f"no database at {elsewhere / 'data' / 'bgremover.db'}" in p.stderr
    assert "bgremover db upgrade" in p.stderr and "BGREMOVER_DATA_DIR" in p.stderr
    assert list(elsewhere.iterdir()) == [], "nothing may be left behind"


def test_a_fresh_data_dir_without_its_schema_is_refused_the_same_way(tmp_path):
    data = tmp_path / "fresh"
    data.mkdir()
    (data / "bgremover.db").touch()  # e.g. an earlier crash left an empty file
    env = {**os.environ, "BGREMOVER_DATA_DIR": str(data)}
    env.pop("BGREMOVER_DATABASE_URL", None)
    env.pop("BGREMOVER_SECRET_KEY", None)
    p = subprocess.run([str(BIN), "credits", "show", "a@example.com"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1 and "has no schema" in p.stderr and "bgremover db upgrade" in p.stderr, p.stderr
    assert not (data / "secret_key").exists()
