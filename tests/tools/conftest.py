"""The scripts under tools/ are not a package: each test module loads its script by path."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sweep() -> ModuleType:
    return load_tool("sweep_maps")


@pytest.fixture(scope="module")
def ladder() -> ModuleType:
    return load_tool("ladder_report")
