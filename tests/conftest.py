"""Shared fixtures: the shared sample folder and the guide's scenario as real packages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulators import guide

ROOT = Path(__file__).resolve().parents[1]
# The shared samples beside the checkout (../shared), or where CONNECTOR_SHARED_DIR points.
SAMPLES = Path(os.environ.get("CONNECTOR_SHARED_DIR", ROOT.parent / "shared")) / "interop" / "edxml-samples"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "compat: imports and one SOAP round trip, run on every Python version")


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"shared edXML samples not found at {SAMPLES} (the ../shared folder is absent)")
    return SAMPLES


@pytest.fixture
def send_package():
    return guide.send_package()


@pytest.fixture
def result_package():
    return guide.result_package()
