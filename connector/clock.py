"""The connector's one clock: timezone-aware UTC, so stored and compared times never mix zones."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)
