"""Where a dossier's document goes: the handling agency, its queue and the target account.

The provincial guide's rule: the procedure's handling agency receives the document; as
INCOMING (Văn bản đến) it lands in the agency clerk's registration queue, as OUTGOING (Văn bản
đi) in the drafts of the officer whose document-management username equals the sender's
one-stop username – or the username the mapping table gives for it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from connector.errors import ConnectorError, ErrorCode
from connector.exchange.directory import Account, OrganizationEntry, Procedure, SystemEntry, SystemKind
from connector.exchange.states import DocumentKind


class Queue(enum.StrEnum):
    REGISTRATION = "registration"  # Văn bản đến chờ vào sổ (the clerk's list)
    DRAFTS = "drafts"  # Văn bản đi chờ xử lý (the handling officer's list)


@dataclass(frozen=True)
class RoutingDecision:
    agency_id: str
    agency_name: str
    system: SystemEntry  # the agency's document-management system
    queue: Queue
    target_account: str
    officer_account: str  # the sender's document-management account


class DirectoryReader(Protocol):
    def procedure(self, code: str) -> Procedure | None: ...
    def organization(self, organ_id: str) -> OrganizationEntry | None: ...
    def system_for(self, organ_id: str, kind: SystemKind) -> SystemEntry | None: ...
    def account(self, username: str) -> Account | None: ...
    def mapped_username(self, onestop_username: str) -> str | None: ...


def route(
    directory: DirectoryReader,
    procedure_code: str,
    kind: DocumentKind,
    sender_username: str,
    recipients: list[str],
) -> RoutingDecision:
    procedure = directory.procedure(procedure_code)
    if procedure is None:
        raise ConnectorError(
            ErrorCode.UNKNOWN_PROCEDURE,
            f"procedure {procedure_code!r} is not in the procedure catalogue",
            "dossier/procedureCode",
        )
    if not procedure.interconnection:
        raise ConnectorError(
            ErrorCode.INTERCONNECTION_DISABLED,
            f"procedure {procedure_code!r} ({procedure.name}) does not use the interconnection",
            "dossier/procedureCode",
        )
    agency = directory.organization(procedure.agency_id)
    system = directory.system_for(procedure.agency_id, SystemKind.DOCMGMT)
    if agency is None or system is None:
        raise ConnectorError(
            ErrorCode.UNKNOWN_ORGANIZATION,
            f"the handling agency {procedure.agency_id!r} of procedure {procedure_code!r} has no "
            "document-management system in the directory",
            "dossier/procedureCode",
        )
    if procedure.agency_id not in recipients:
        raise ConnectorError(
            ErrorCode.PACKAGE_INVALID,
            f"the package is addressed to {', '.join(recipients)}, but procedure {procedure_code!r} "
            f"is handled by {procedure.agency_id}",
            "package/MessageHeader/To/OrganId",
        )
    username = directory.mapped_username(sender_username) or sender_username
    officer = directory.account(username)
    if officer is None:
        mapped = f" (mapped from one-stop username {sender_username!r})" if username != sender_username else ""
        raise ConnectorError(
            ErrorCode.UNKNOWN_ACCOUNT,
            f"username {username!r}{mapped} has no account in the document-management system {system.system_id}",
            "senderUsername",
        )
    if kind is DocumentKind.INCOMING:
        if not agency.clerk_account:
            raise ConnectorError(
                ErrorCode.UNKNOWN_ACCOUNT,
                f"agency {agency.organ_id} has no clerk account for its registration queue in {system.system_id}",
                "kind",
            )
        return RoutingDecision(
            agency.organ_id, agency.name, system, Queue.REGISTRATION, agency.clerk_account, officer.username
        )
    if officer.organ_id != agency.organ_id:
        raise ConnectorError(
            ErrorCode.UNKNOWN_ACCOUNT,
            f"username {username!r} belongs to {officer.organ_id}, not to the handling agency "
            f"{agency.organ_id} in {system.system_id}",
            "senderUsername",
        )
    return RoutingDecision(agency.organ_id, agency.name, system, Queue.DRAFTS, officer.username, officer.username)
