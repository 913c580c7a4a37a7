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
import ipaddress
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


class Protocol(enum.StrEnum):
    SOAP = "soap"  # the partner contracts (wsdl/partner-*.wsdl), directly or through a gateway
    VXP = "vxp"  # the national document axis (REST, HMAC-signed headers): docs/national-axis.md


class PartnerAuthType(enum.StrEnum):
    OAUTH2 = "oauth2"  # an API gateway's client credentials (WSO2: POST {gateway}/token)
    VXP_HMAC = "vxp-hmac"  # the national axis: HMAC-SHA256 over the XroadVnpt-* headers


class ClientAuth(enum.StrEnum):
    BASIC = "basic"  # client id and secret as HTTP Basic at the token endpoint
    FORM = "form"  # ... as form fields


@dataclass(frozen=True)
class PartnerAuth:
    """How the connector authenticates to a partner (``systems[].auth``); the secret is never
    here: ``python -m connector credentials set-partner SYSTEM_ID --secret-stdin``."""

    type: PartnerAuthType
    token_url: str | None = None  # oauth2
    client_id: str | None = None  # oauth2
    scope: str | None = None  # oauth2, optional
    client_auth: ClientAuth = ClientAuth.BASIC  # oauth2
    system_id: str | None = None  # vxp-hmac: the id the axis registered for this connector

    @classmethod
    def from_json(cls, value: Any) -> PartnerAuth:
        if not isinstance(value, dict):
            raise ValueError("auth must be an object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown auth field {sorted(unknown)[0]!r}")
        auth = cls(
            PartnerAuthType(value.get("type")),
            value.get("token_url"),
            value.get("client_id"),
            value.get("scope"),
            ClientAuth(value.get("client_auth") or "basic"),
            value.get("system_id"),
        )
        if auth.type is PartnerAuthType.OAUTH2 and not (auth.token_url and auth.client_id):
            raise ValueError("oauth2 needs token_url and client_id")
        if auth.type is PartnerAuthType.VXP_HMAC and not auth.system_id:
            raise ValueError("vxp-hmac needs system_id")
        return auth

    def to_json(self) -> dict[str, str]:
        return {k: str(v) for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class OrganizationEntry:
    organ_id: str
    name: str
    clerk_account: str | None = None  # the văn thư who registers incoming documents
    # Other codes of the same organisation: the old QCVN 102 code and the QĐ 20/2020 code name
    # one agency; either is accepted where it appears. In CSV: "id1;id2".
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class SystemEntry:
    system_id: str
    organ_id: str
    kind: SystemKind
    endpoint: str | None = None  # SOAP address for push delivery
    mode: DeliveryMode = DeliveryMode.PUSH
    # A one-stop system: the agencies (OrganIds) it may send dossiers to. In CSV: "id1;id2".
    agencies: tuple[str, ...] = ()
    protocol: Protocol = Protocol.SOAP
    auth: PartnerAuth | None = None  # how the connector authenticates to it (a gateway, the axis)
    # Static HTTP headers on every call to it; a value "${NAME}" is read from the environment.
    headers: tuple[tuple[str, str], ...] = ()
    # Published behind a gateway: the calling application's name in the gateway's JWT.
    gateway_application: str | None = None
    # The addresses or networks the system calls from (CIDR or single addresses; in CSV "a;b").
    # Failed attempts from elsewhere never make its calls from these wait (docs/security.md).
    networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for network in self.networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise DirectoryFormatError(
                    f"system {self.system_id}: {network!r} is not an address or network"
                ) from None

    def calls_from(self, address: str) -> bool:
        """Is ``address`` inside one of the system's declared networks?"""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        ip = getattr(ip, "ipv4_mapped", None) or ip
        return any(ip in ipaddress.ip_network(n, strict=False) for n in self.networks)


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
            if name == "auth":
                value = None if value in (None, "") else PartnerAuth.from_json(_json_cell(value))
            elif name == "headers":
                value = _headers(_json_cell(value))
            elif isinstance(default, enum.Enum) or name in ("kind",):
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


def _json_cell(value: Any) -> Any:
    """A CSV cell holds JSON text where JSON has an object."""
    return json.loads(value) if isinstance(value, str) and value.strip() else value


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    pairs = value.items() if isinstance(value, dict) else (value or ())
    headers = tuple((str(k), str(v)) for k, v in pairs)
    if not all(k and isinstance(v, str) for k, v in headers):
        raise ValueError(value)
    return headers


def record_json(record: Any) -> dict[str, Any]:
    """A record as the import format writes it."""
    data = dataclasses.asdict(record)
    if isinstance(record, SystemEntry):
        data["auth"] = record.auth.to_json() if record.auth else None
        data["headers"] = dict(record.headers)
    return data


def _named(item: Any) -> frozenset[str]:
    return frozenset(item) if isinstance(item, dict) else frozenset()


def directory_to_json(directory: Directory) -> str:
    return json.dumps(
        {name: [record_json(r) for r in getattr(directory, name)] for name in RECORD_TYPES},
        ensure_ascii=False,
        indent=2,
        default=str,
    )
