"""Which way a delivery goes to a partner: the SOAP partner contract (directly, or through an API
gateway with an OAuth2 token and static headers) or the national document axis (VXP).

``PartnerProtocols.call`` is the worker's one seam: it reads the partner's directory entry
(``protocol``, ``auth``, ``headers``) and classifies what came back into the ``Outcome`` the
worker records. Through a gateway: a 401 drops the token and the call is made once more with a
fresh one; a 401 or 403 after that (or a token endpoint that refuses the client credentials) is
``UNAUTHORIZED`` – the partner's credentials are wrong, the breaker opens, nothing is
dead-lettered; a 429 is ``THROTTLED`` with the wait the gateway asked for.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from connector.auth.secretbox import SecretBox, SecretKeyError
from connector.delivery.clients import CallResult, Outcome, PartnerClients
from connector.delivery.gateway import GatewayRefusal, HeaderConfigError, expand_headers, extra_headers
from connector.delivery.oauth import TokenRefusedError, TokenSources, TokenUnavailableError
from connector.exchange.directory import PartnerAuthType, Protocol, SystemEntry, SystemKind
from connector.store import CredentialStore, Store

log = logging.getLogger(__name__)


class PartnerSecrets:
    """The connector's own secrets at partners, opened from the store when needed."""

    def __init__(self, store: Store, box: SecretBox) -> None:
        self._credentials = CredentialStore(store)
        self._box = box

    def __call__(self, system_id: str) -> str | None:
        sealed = self._credentials.sealed_partner_secret(system_id)
        if sealed is None:
            return None
        try:
            return self._box.open(sealed)
        except SecretKeyError as exc:
            log.error("%s", exc)
            return None


def _no_secrets(system_id: str) -> str | None:
    return None


def _metrics() -> tuple[Callable[[str, bool], None], Callable[[str, int], None]]:
    # Imported here: prometheus-client is for the processes that deliver (as in worker.py).
    from connector.ops.metrics import record_gateway_refusal, record_token_fetch

    return record_token_fetch, record_gateway_refusal


class PartnerProtocols:
    def __init__(
        self,
        soap: PartnerClients,
        secrets: Callable[[str], str | None] = _no_secrets,
        timeout: tuple[float, float] = (5.0, 30.0),
        environ: Mapping[str, str] | None = None,
        vxp: Any = None,
    ) -> None:
        """``vxp``: the national axis client (``connector/delivery/vxp.py``), if configured."""
        self.soap = soap
        self.secrets = secrets
        self.environ = os.environ if environ is None else environ
        self.vxp = vxp
        on_fetch, self._on_refusal = _metrics()
        self.tokens = TokenSources(secrets, timeout, on_fetch=on_fetch)

    def call(self, system: SystemEntry, operation: str, arguments: dict[str, Any], package: bytes | None) -> CallResult:
        if system.protocol is Protocol.VXP:
            if self.vxp is None:
                return CallResult(Outcome.RETRY, error="the national axis client is not configured")
            return self.vxp.deliver(system, operation, arguments, package, self.secrets(system.system_id))
        try:
            headers = expand_headers(system.headers, self.environ)
        except HeaderConfigError as exc:
            return CallResult(Outcome.UNAUTHORIZED, error=str(exc))
        auth = system.auth
        if auth is None or auth.type is not PartnerAuthType.OAUTH2:
            return self._soap(system, operation, arguments, headers)
        source = self.tokens.source(system.system_id, auth)
        for attempt in (1, 2):
            fetches = source.fetches
            try:
                token = source.token()
            except TokenRefusedError as exc:
                return CallResult(Outcome.UNAUTHORIZED, error=f"credentials refused: {exc}")
            except TokenUnavailableError as exc:
                return CallResult(Outcome.RETRY, error=str(exc))
            fresh = source.fetches > fetches
            try:
                return self._call(system, operation, arguments, headers | {"Authorization": f"Bearer {token}"})
            except GatewayRefusal as refusal:
                self._on_refusal(system.system_id, refusal.status)
                if refusal.status == 401:
                    source.invalidate(token)  # never offered again; the next call fetches a new one
                if refusal.status == 401 and attempt == 1 and not fresh:  # expired or revoked early
                    log.info(
                        "partner %s: gateway refused the token (%s); one fresh token, one more call",
                        system.system_id,
                        refusal,
                    )
                    continue
                return _refused(system.system_id, refusal)
        raise AssertionError("unreachable")  # pragma: no cover

    def _soap(
        self, system: SystemEntry, operation: str, arguments: dict[str, Any], headers: dict[str, str]
    ) -> CallResult:
        try:
            return self._call(system, operation, arguments, headers)
        except GatewayRefusal as refusal:
            self._on_refusal(system.system_id, refusal.status)
            return _refused(system.system_id, refusal)

    def _call(
        self, system: SystemEntry, operation: str, arguments: dict[str, Any], headers: dict[str, str]
    ) -> CallResult:
        assert system.endpoint is not None  # the worker checked
        with extra_headers(headers):
            return self.soap.call(SystemKind(system.kind), system.endpoint, operation, arguments)


def _refused(system_id: str, refusal: GatewayRefusal) -> CallResult:
    if refusal.status == 429:
        return CallResult(Outcome.THROTTLED, error=str(refusal), retry_after=refusal.retry_after)
    log.error(
        "partner %s: the gateway refuses the connector's credentials (%s); fix them "
        "(python -m connector credentials set-partner %s --secret-stdin, or the partner's headers); "
        "its items wait",
        system_id,
        refusal,
        system_id,
    )
    return CallResult(Outcome.UNAUTHORIZED, error=f"credentials refused: {refusal}")
