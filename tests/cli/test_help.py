"""``--help`` of the real ``bgremover`` executable: plain flags show no value type (they take no value)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "bgremover"


def _help(*command: str) -> str:
    done = subprocess.run([str(BIN), *command, "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "120", "TERM": "dumb"})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("command, flags", [
    (["remove"], ["--lossy", "--alpha-only", "--crop ", "--recursive", "--help"]),
    (["accounts", "create"], ["--admin", "--password-stdin", "--help"]),
    ([], ["--version", "--help"]),
])
def test_plain_flags_show_no_value_type_while_valued_options_keep_theirs(command: list[str], flags: list[str]) -> None:
    text = _help(*command)
    assert "<bool>" not in text
    lines = text.splitlines()
    for flag in flags:
        assert any(flag in line for line in lines), flag
    if command == ["remove"]:
        assert any("--quality" in line and "<int range>" in line for line in lines)
