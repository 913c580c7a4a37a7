"""The directories routing reads: organisations and their systems, document-management accounts,
the one-stop → document-management username mapping, and the procedure (TTHC) catalogue.

Plain dataclasses plus the import format (JSON, or CSV with one record type per file); the
store keeps them, ``routing`` reads them.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import json
from dataclasses import dataclass
from typing import Any

from connector.errors import SimpleError
from connector.exchange.states import DocumentKind


class SystemKind(enum.StrEnum):
    ONESTOP = "onestop"  # một cửa điện tử (e.g. iGate)
    DOCMGMT = "docmgmt"  # quản lý văn bản và điều hành (e.g. eOffice)


class DeliveryMode(enum.StrEnum):
    PUSH = "push"  # the connector calls the system's SOAP endpoint
    PULL = "pull"  # the system lists, fetches and acknowledges through the connector


@dataclass(frozen=True)
class OrganizationEntry:
    organ_id: str
    name: str
    clerk_account: str | None = None  # the văn thư who registers incoming documents


@dataclass(frozen=True)
class SystemEntry:
    system_id: str
    organ_id: str
    kind: SystemKind
    endpoint: str | None = None  # SOAP address for push delivery
    mode: DeliveryMode = DeliveryMode.PUSH
    # A one-stop system: the agencies (OrganIds) it may send dossiers to. In CSV: "id1;id2".
    agencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Account:
    """A document-management user: the guide's routing key."""

    username: str
    organ_id: str
    role: str = "specialist"  # clerk | specialist | leader
    full_name: str | None = None


@dataclass(frozen=True)
class UsernameMapping:
    onestop_username: str
    docmgmt_username: str


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    agency_id: str
    default_kind: DocumentKind = DocumentKind.INCOMING
    interconnection: bool = True


RECORD_TYPES: dict[str, type] = {
    "organizations": OrganizationEntry,
    "systems": SystemEntry,
    "accounts": Account,
    "username_map": UsernameMapping,
    "procedures": Procedure,
}


@dataclass
class Directory:
    organizations: list[OrganizationEntry] = dataclasses.field(default_factory=list)
    systems: list[SystemEntry] = dataclasses.field(default_factory=list)
    accounts: list[Account] = dataclasses.field(default_factory=list)
    username_map: list[UsernameMapping] = dataclasses.field(default_factory=list)
    procedures: list[Procedure] = dataclasses.field(default_factory=list)
    # Per section, per record: the fields the import file named (a merge keeps the others'
    # stored values). Absent for a section: every field counts as named.
    named: dict[str, list[frozenset[str]]] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def count(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in RECORD_TYPES}


class DirectoryFormatError(SimpleError, ValueError):
    """An import file that cannot be read; the message names the record and field."""


def parse_directory(text: str, filename: str) -> Directory:
    if filename.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DirectoryFormatError(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise DirectoryFormatError(f"expected an object with keys {', '.join(RECORD_TYPES)}")
        unknown = set(data) - set(RECORD_TYPES)
        if unknown:
            raise DirectoryFormatError(f"unknown section {sorted(unknown)[0]!r} (known: {', '.join(RECORD_TYPES)})")
        return Directory(
            **{
                name: [_record(RECORD_TYPES[name], item, f"{name}[{i}]") for i, item in enumerate(items)]
                for name, items in data.items()
            },
            named={name: [_named(item) for item in items] for name, items in data.items()},
        )
    if filename.lower().endswith(".csv"):
        return _parse_csv(text)
    raise DirectoryFormatError("the file must end in .json or .csv")


def _parse_csv(text: str) -> Directory:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise DirectoryFormatError("the CSV file has no rows")
    header = set(rows[0])
    for name, cls in RECORD_TYPES.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        if required <= header <= fields:
            # An empty cell names nothing: a merge keeps the stored value (``--replace`` to clear).
            given = [{k: v for k, v in row.items() if v not in (None, "")} for row in rows]
            records = [_record(cls, item, f"row {i + 2}") for i, item in enumerate(given)]
            return Directory(**{name: records}, named={name: [frozenset(item) for item in given]})
    raise DirectoryFormatError(
        f"the CSV header {sorted(header)} matches no record type; "
        + "; ".join(f"{n}: {', '.join(f.name for f in dataclasses.fields(c))}" for n, c in RECORD_TYPES.items())
    )


def _record(cls: type, item: Any, where: str) -> Any:
    if not isinstance(item, dict):
        raise DirectoryFormatError(f"{where}: expected an object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(item) - set(fields)
    if unknown:
        raise DirectoryFormatError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    missing = [n for n, f in fields.items() if f.default is dataclasses.MISSING and n not in item]
    if missing:
        raise DirectoryFormatError(f"{where}: missing field {missing[0]!r}")
    values = {}
    for name, value in item.items():
        default = fields[name].default
        try:
            if isinstance(default, enum.Enum) or name in ("kind",):
                enum_type = type(default) if isinstance(default, enum.Enum) else SystemKind
                value = enum_type(value)
            elif isinstance(default, tuple):
                value = tuple(value.split(";") if isinstance(value, str) else value)
                if not all(isinstance(v, str) and v for v in value):
                    raise ValueError(value)
            elif isinstance(default, bool) and isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                value = value.lower() in ("true", "1", "yes")
        except ValueError:
            raise DirectoryFormatError(f"{where}: {name} {value!r} is not valid") from None
        values[name] = value
    return cls(**values)


def _named(item: Any) -> frozenset[str]:
    return frozenset(item) if isinstance(item, dict) else frozenset()


def directory_to_json(directory: Directory) -> str:
    return json.dumps(
        {name: [dataclasses.asdict(r) for r in getattr(directory, name)] for name in RECORD_TYPES},
        ensure_ascii=False,
        indent=2,
        default=str,
    )
