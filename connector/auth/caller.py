"""The authenticated caller, as the service sees it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connector.exchange.directory import SystemEntry, SystemKind


class AuthMethod(enum.StrEnum):
    PASSWORD_DIGEST = "wsse-digest"  # UsernameToken PasswordDigest (nonce + created)
    PASSWORD_TEXT = "wsse-text"  # UsernameToken PasswordText, over TLS only
    BASIC = "basic"  # HTTP Basic, over TLS only
    CERTIFICATE = "certificate"  # a verified client certificate mapped to the system
    GATEWAY_JWT = "gateway-jwt"  # an API gateway's signed assertion about the calling application
    AXIS = "vxp-axis"  # a document the national axis handed over (its sender signed the package)


@dataclass(frozen=True)
class Caller:
    """A registered system that proved who it is; the service authorises by its entry."""

    system: SystemEntry
    method: AuthMethod

    @property
    def system_id(self) -> str:
        return self.system.system_id

    @property
    def organ_id(self) -> str:
        return self.system.organ_id

    @property
    def kind(self) -> SystemKind:
        return self.system.kind
