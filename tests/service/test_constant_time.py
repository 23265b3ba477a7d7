"""same_secret: the one comparison every signature, CSRF token and bearer token goes through."""
from __future__ import annotations

import pytest

from bgremover.service.constant_time import same_secret


def test_only_the_exact_secret_matches():
    assert same_secret("sha256=abc123", "sha256=abc123")
    assert not same_secret("sha256=abc123", "sha256=abc124")
    assert not same_secret("sha256=abc123", "sha256=abc12")  # a prefix is not the secret


@pytest.mark.parametrize("given", [None, "", "sïgnature", "\udcff", "ａｂｃ"])
def test_missing_or_non_ascii_input_is_a_mismatch_not_an_exception(given):
    # hmac.compare_digest("abc", "sïgnature") raises TypeError: a client could turn a 401 into a 500
    assert same_secret("abc", given) is False
