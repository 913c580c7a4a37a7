"""What the evidence records keep of the store's other tables, in one plain form: a timeline
event, an exchange's columns fixed at its creation, its result. ``evidence.py`` records them,
``evidence_check.py`` compares the tables with them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.store.records import StoredEvent, columns


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def event_data(ev: StoredEvent) -> dict[str, Any]:
    """A timeline event as recorded (and as a bundle's timeline.json shows it)."""
    return columns(ev) | {"at": iso(ev.at), "state": ev.state.value}


def event_row_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """An ``events`` row as ``event_data`` records it (what ``evidence verify`` compares)."""
    return {
        "at": utc_iso(row["at"]),
        "state": row["state"],
        "actor": row["actor"],
        "status_code": row["status_code"],
        "package_digest": row["package_digest"],
        "note": row["note"],
    }


# Exchange columns that later records change: everything else is fixed at creation and kept in
# the exchange's first event record (``exchange_facts``), the result's in the record that sets it.
# ``search_text`` is neither: it is derived from the others (store/search.py), an index, not a fact.
RESULT_COLUMNS = (
    "result_document_id",
    "result_code",
    "result_issue_date",
    "result_signer",
    "result_position",
    "result_identifier",
    "result_package_digest",
)
_LATER = frozenset({"state", "updated_at", "search_text", *RESULT_COLUMNS})


def utc_iso(value: datetime) -> str:
    """One spelling for one instant, whatever zone it was written or read back in."""
    return as_utc(value).astimezone(UTC).isoformat()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_iso(value)
    return value.value if isinstance(value, enum.Enum) else value


def exchange_facts(values: Mapping[str, Any]) -> dict[str, Any]:
    """An exchange's columns fixed at its creation, as its first event record keeps them."""
    return {k: _plain(v) for k, v in values.items() if k not in _LATER}


def result_facts(values: Mapping[str, Any]) -> dict[str, Any]:
    """The result's columns, as the record of the event that set them keeps them."""
    return {k: _plain(values.get(k)) for k in RESULT_COLUMNS}
