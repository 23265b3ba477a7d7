"""PostgreSQL clusters of our own for tests that stop, restart or fill one; the machine's shared PostgreSQL is
never touched.

* :class:`ThrowawayPostgres`: initdb in a directory of ours, a free loopback port, fsync off.
* :func:`postgres_on_tiny_tmpfs`: such a cluster whose data directory is a small tmpfs, for a real SQLSTATE
  53100 ``disk_full``. Its WAL stays on the ordinary disk: a WAL that cannot be written makes PostgreSQL PANIC
  and shut down, which is another failure than a table that cannot grow.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import require
from store.disk_full import tiny_tmpfs

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
PG_MISSING = "PostgreSQL server binaries (initdb) are not installed"


class ThrowawayPostgres:
    """A cluster under ``root`` (log, socket, and the data unless ``data`` puts it elsewhere), with database ``bg``."""

    def __init__(self, root: Path, *, data: Path | None = None) -> None:
        from web.service_process import free_port

        self.bin, self.root, self.port = PG_BIN[-1].parent, root, free_port()
        self.data = data or root / "pgdata"
        root.mkdir(parents=True, exist_ok=True)
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(root, "postgres")
        wal = ["--waldir", str(root / "pg_wal")] if data is not None else []
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", *wal)
        self.start()
        try:
            subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc",
                            "CREATE DATABASE bg"], check=True, capture_output=True)
        except BaseException:  # nobody holds a half-made cluster to stop it
            self.stop(check=False)
            raise

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/bg"

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=check, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "pg.log"), "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self, *, check: bool = True) -> None:
        """Stop at once; ``check=False`` for a teardown, where the cluster may be stopped already."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=check)


def new_cluster_root() -> Path:
    """Outside pytest's 0700 tree, so the ``postgres`` user can reach it."""
    return Path(tempfile.mkdtemp(prefix="bgremover-pg-"))


@contextmanager
def postgres_on_tiny_tmpfs(size: str = "32m") -> Iterator[ThrowawayPostgres]:
    """A running cluster whose data directory is a ``size`` tmpfs (initdb and database ``bg`` take about 25 MiB).

    Fails under CI=true without the PostgreSQL binaries, skips elsewhere; skips where mounting is not permitted.
    Always stops the cluster, unmounts and deletes what it made.
    """
    require(bool(PG_BIN) and shutil.which("psql") is not None, PG_MISSING)
    root = new_cluster_root()
    try:
        with tiny_tmpfs(root / "data", size) as mount:
            pg = ThrowawayPostgres(root, data=mount / "pgdata")
            try:
                yield pg
            finally:
                pg.stop(check=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)
