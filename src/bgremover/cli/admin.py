"""Operator commands: ``accounts create``, ``keys create|list|revoke``, ``credits grant|show``.

``keys create`` prints the new key and nothing else on stdout (so ``KEY=$(bgremover keys create …)`` works);
everything else a command says goes to stderr.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from bgremover.store.database import Database

accounts_app = typer.Typer(help="Accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
credits_app = typer.Typer(help="Credits.", no_args_is_help=True)


def _db() -> tuple[Database, bytes]:
    """The service's database and secret, or exit 1 saying where none is: nothing is created on the way
    (run from another folder, ``./data`` would otherwise become a new empty database with a new secret)."""
    from bgremover.config import load_settings
    from bgremover.service.secret_key import load_secret_key
    from bgremover.store.database import Database
    from bgremover.store.migrate import current_revision

    settings = load_settings()
    how = ("Point BGREMOVER_DATA_DIR (or BGREMOVER_DATABASE_URL) at the service's database, or create one "
           "with `bgremover db upgrade`.")
    if settings.database_url is None:
        path = (settings.data_dir / "bgremover.db").resolve()
        if not path.is_file():
            raise _fail(ValueError(f"no database at {path} (BGREMOVER_DATA_DIR is {settings.data_dir}). {how}"))
    db = Database.from_settings(settings)
    if current_revision(db.engine) is None:
        db.dispose()
        where = settings.database_url and "BGREMOVER_DATABASE_URL" or f"{settings.data_dir.resolve()}/bgremover.db"
        raise _fail(ValueError(f"the database at {where} has no schema yet. {how}"))
    return db, load_secret_key(settings)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
    return typer.Exit(code=1)


@accounts_app.command("create")
def accounts_create(email: str, admin: bool = typer.Option(False, "--admin", help="Dashboard administrator."),
                    password_stdin: bool = typer.Option(False, "--password-stdin",
                                                        help="Read a dashboard password from stdin.")) -> None:
    """Create an account (with no credits; see `credits grant`)."""
    from bgremover.errors import BgRemoverError
    from bgremover.service.accounts import create_account

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password_stdin and not password:
        raise _fail(ValueError("--password-stdin given but stdin held no password"))
    db, _ = _db()
    try:
        acc = create_account(db, email=email, password=password, is_admin=admin)
    except BgRemoverError as exc:
        raise _fail(exc) from None
    typer.echo(f"created account {acc.id} {acc.email}{' (admin)' if acc.is_admin else ''}", err=True)


@keys_app.command("create")
def keys_create(email: str, name: str = typer.Option("", "--name", help="A label to recognise the key by.")) -> None:
    """Create an API key for EMAIL and print it (only now: it is stored as a keyed hash)."""
    from bgremover.errors import BgRemoverError
    from bgremover.service.accounts import get_account_by_email
    from bgremover.service.keys import create_key

    db, secret = _db()
    try:
        acc = get_account_by_email(db, email)
        info, key = create_key(db, secret, account_id=acc.id, name=name)
    except BgRemoverError as exc:
        raise _fail(exc) from None
    typer.echo(key)
    typer.echo(f"key {info.id} ({info.prefix}…) created for {acc.email}; it is not shown again", err=True)


@keys_app.command("list")
def keys_list(email: str) -> None:
    """List EMAIL's keys by prefix, with last use and revocation."""
    from bgremover.errors import BgRemoverError
    from bgremover.service.accounts import get_account_by_email
    from bgremover.service.keys import list_keys

    db, _ = _db()
    try:
        rows = list_keys(db, account_id=get_account_by_email(db, email).id)
    except BgRemoverError as exc:
        raise _fail(exc) from None
    typer.echo("ID\tPREFIX\tNAME\tCREATED\tLAST_USED\tSTATUS")
    for k in rows:
        status = "revoked" if k.revoked_at else "active"
        last = k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "-"
        typer.echo(f"{k.id}\t{k.prefix}…\t{k.name or '-'}\t{k.created_at.isoformat(timespec='seconds')}\t{last}\t"
                   f"{status}")


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke key KEY_ID (from `keys list`); it stops working with the next request."""
    from bgremover.errors import BgRemoverError
    from bgremover.service.keys import revoke_key

    db, _ = _db()
    try:
        revoke_key(db, key_id=key_id)
    except BgRemoverError as exc:
        raise _fail(exc) from None
    typer.echo(f"key {key_id} revoked", err=True)


@credits_app.command("grant")
def credits_grant(email: str, amount: int, note: str = typer.Option(None, "--note", help="Why (kept in the ledger).")
                  ) -> None:
    """Add AMOUNT credits to EMAIL (negative removes, never below zero)."""
    from bgremover.errors import BgRemoverError
    from bgremover.service import credits
    from bgremover.service.accounts import get_account_by_email

    db, _ = _db()
    try:
        balance = credits.grant(db, account_id=get_account_by_email(db, email).id, amount=amount, note=note)
    except BgRemoverError as exc:
        raise _fail(exc) from None
    typer.echo(f"{email}: {balance} credits available")


@credits_app.command("show")
def credits_show(email: str, limit: int = typer.Option(20, min=1, max=100, help="Statement lines to show.")) -> None:
    """EMAIL's available and reserved credits and recent statement (one line per grant or task outcome)."""
    from bgremover.errors import BgRemoverError
    from bgremover.service import credits, statement
    from bgremover.service.accounts import get_account_by_email

    db, _ = _db()
    try:
        account_id = get_account_by_email(db, email).id
        bal = credits.balance(db, account_id=account_id, limit=0)
        lines = statement.page(db, account_id=account_id, limit=limit).entries
    except BgRemoverError as exc:
        raise _fail(exc) from None
    typer.echo(f"available: {bal.credits}\nreserved: {bal.reserved}")
    for e in lines:
        typer.echo(f"{e.created_at.isoformat(timespec='seconds')}\t{e.delta:+d}\t{e.reason}\t{e.task_id or ''}\t"
                   f"{e.note or ''}")


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(keys_app, name="keys")
    app.add_typer(credits_app, name="credits")
