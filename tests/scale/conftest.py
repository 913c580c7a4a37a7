"""Scale-out tests: several connector processes, one PostgreSQL database, a real load balancer."""

from __future__ import annotations

import os

import pytest

from tests.store.conftest import postgres_url  # noqa: F401 - the PostgreSQL fixture, for these tests too


def require_tool(path: str | None, name: str, why: str) -> str:
    """The tool's path; a missing tool skips the test locally and fails it under CI (``CI`` set)."""
    if path is not None:
        return path
    reason = f"{name} not installed ({why}; .ci/ensure-tools installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"CI: {reason}")
    pytest.skip(reason)
