"""What an authenticated system may do (issue 8; docs/security.md).

A system acts only for its own organisation and only in its role: one-stop systems send
dossiers, document-management systems publish results, each side sends the statuses it is
entitled to, a one-stop system reaches only the agencies its directory entry lists, and the pull
operations serve the caller's own system only. Items (exchanges, outbox items) of other parties
are not refused here: the service answers them exactly as it answers items that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.auth.caller import Caller
from connector.errors import ConnectorError, ErrorCode
from connector.exchange.directory import OrganizationEntry, SystemKind
from connector.store import StoredExchange

_ROLE = {SystemKind.ONESTOP: "one-stop", SystemKind.DOCMGMT: "document-management"}


def forbidden(message: str, field: str) -> ConnectorError:
    return ConnectorError(ErrorCode.FORBIDDEN, message, field)


def require_kind(caller: Caller, kind: SystemKind, what: str) -> None:
    if caller.kind is not kind:
        raise forbidden(
            f"{what} is for {_ROLE[kind]} systems; {caller.system_id} is a {_ROLE[caller.kind]} system", "Header"
        )


def require_own_organisation(
    caller: Caller, organ_id: str, organization: Callable[[str], OrganizationEntry | None] | None = None
) -> None:
    """The signed package speaks for the caller's organisation, not another one. With the
    directory's ``organization`` lookup, the organisation's other code (``aliases``: the old QCVN
    102 code or the QĐ 20/2020 one) speaks for it too."""
    if organ_id == caller.organ_id:
        return
    entry = organization(organ_id) if organization is not None else None
    if entry is None or entry.organ_id != caller.organ_id:
        raise forbidden(
            f"the package is sent for {organ_id}, but {caller.system_id} acts for {caller.organ_id}",
            "package/MessageHeader/From/OrganId",
        )


def require_connected(caller: Caller, agency_id: str, procedure_code: str) -> None:
    if agency_id not in caller.system.agencies:
        raise forbidden(
            f"{caller.system_id} is not connected to agency {agency_id}, which handles procedure "
            f"{procedure_code!r} (directory: systems[].agencies)",
            "dossier/procedureCode",
        )


def require_own_system(caller: Caller, system_id: str) -> None:
    if system_id != caller.system_id:
        raise forbidden(f"systemId must be the calling system's own ({caller.system_id})", "systemId")


def is_party(caller: Caller, exchange: StoredExchange) -> bool:
    return caller.organ_id in (exchange.source_organ, exchange.agency_organ)
