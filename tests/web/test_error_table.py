"""The error codes are documented in one place, generated from the one table, and cover every raised code."""
from __future__ import annotations

import inspect
from pathlib import Path

import bgremover.errors
import bgremover.providers.errors
import bgremover.service.errors
from bgremover.web.errors import ERRORS, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def test_docs_errors_md_is_generated_from_the_table():
    assert DOC.read_text() == render_markdown(), "run: python -m bgremover.web.errors > docs/errors.md"


def test_every_error_class_code_has_a_status():
    modules = (bgremover.errors, bgremover.service.errors, bgremover.providers.errors)
    classes = [c for mod in modules for _, c in inspect.getmembers(mod, inspect.isclass)
               if issubclass(c, bgremover.errors.BgRemoverError)]
    abstract = {"internal_error", "model_error", "service_error",
                "upstream_error", "provider_config_invalid"}  # a base class; the operator's file, at start only
    missing = {c.code for c in classes} - set(ERRORS) - abstract
    assert missing == set()


def test_contract_codes_are_present_with_their_statuses():
    expected = {"unauthorized": 401, "insufficient_credits": 402, "validation_error": 400, "unsupported_model": 400,
                "image_fetch_failed": 400, "unsupported_image": 400, "image_too_large": 413, "rate_limited": 429,
                "task_not_found": 404, "result_expired": 410}
    assert {c: ERRORS[c].status for c in expected} == expected
