"""Every SOAP call proves which registered system makes it, or is refused with
``Client.Unauthenticated``.

Accepted: a WS-Security UsernameToken (PasswordDigest with a fresh Nonce and a Created time inside
the window; PasswordText over TLS only), HTTP Basic over TLS only, and a client certificate the
TLS proxy verified and the operator mapped to the system. When several are presented, each must
verify and all must name the same system. The caller never learns whether a username exists:
an unknown username and a wrong password get the same answer (the security log has the reason).
"""

from __future__ import annotations

import base64
import enum
import hmac
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from lxml import etree

from connector.auth.caller import AuthMethod, Caller
from connector.auth.events import security_event
from connector.auth.gateway_jwt import GatewayAssertionError, GatewayVerifier
from connector.auth.nonces import MemoryNonces
from connector.auth.ratelimit import AttemptGuard, Counter, Delays, address_key
from connector.auth.secretbox import SecretBox, SecretKeyError
from connector.auth.transport import TransportFacts
from connector.auth.wsse import PasswordType, TokenError, UsernameToken, read_username_token
from connector.clock import utcnow
from connector.config import AuthSettings
from connector.errors import ConnectorError, ErrorCode, StoreUnavailableError
from connector.store import CredentialStore, Store

log = logging.getLogger(__name__)
BAD_PASSWORD = "the username or password is wrong"


class FailureKind(enum.StrEnum):
    """A failed attempt's kind: the ``reason`` label of ``connector_authentication_failures_total``
    (a fixed vocabulary: the free-text reason, which may quote the caller, stays in the log)."""

    MALFORMED = "malformed"
    RATE_LIMITED = "rate-limited"
    NO_CREDENTIALS = "no-credentials"
    INSECURE_TRANSPORT = "insecure-transport"
    BAD_CREDENTIALS = "bad-credentials"
    STALE_CREATED = "stale-created"
    REPLAYED_NONCE = "replayed-nonce"
    CONFLICTING_CREDENTIALS = "conflicting-credentials"
    UNKNOWN_SYSTEM = "unknown-system"
    UNKNOWN_CERTIFICATE = "unknown-certificate"
    EXPIRED_CERTIFICATE = "expired-certificate"


class AuthenticationError(ConnectorError):
    """Why an attempt failed: ``public`` goes to the caller, ``reason`` (the message) only to the
    security log, ``kind`` to the metrics."""

    code = ErrorCode.UNAUTHENTICATED

    def __init__(self, public: str, reason: str, kind: FailureKind) -> None:
        super().__init__(self.code, reason)
        self.public = public
        self.reason = reason
        self.kind = kind


class Authenticator:
    def __init__(
        self,
        store: Store,
        box: SecretBox,
        settings: AuthSettings,
        clock: Callable[[], datetime] = utcnow,
        on_failure: Callable[[FailureKind], None] = lambda kind: None,
    ) -> None:
        """``on_failure``: told the kind of every failed attempt (the serving layer counts them
        in the metrics)."""
        self.store = store
        self.on_failure = on_failure
        self.credentials = CredentialStore(store)
        self.box = box
        self.settings = settings
        self.clock = clock
        self.gateway = GatewayVerifier(settings.gateway) if settings.gateway.enabled else None
        self.guard = AttemptGuard(
            self.credentials,
            failure_delays(settings),
            min(settings.max_failures, settings.max_address_failures, settings.max_username_failures),
            wall=clock,
        )
        self._memory_nonces = MemoryNonces()
        self._memory_nonces_since: datetime | None = None  # while the store cannot record nonces

    def counters(self, usernames: Sequence[str], address: str) -> list[Counter]:
        """What a failure from ``address`` under ``usernames`` is counted under, and what an attempt
        waits for: the pair, the address, and the username from anywhere - the last only for an
        address outside the system's declared networks (a system that declares none is never
        made to wait by failures from other addresses)."""
        s = self.settings
        where = address_key(address)
        counters = [Counter(f"address:{where}", s.max_address_failures)]
        for username in usernames:
            counters.append(Counter(f"pair:{username}@{where}", s.max_failures))
            system = self.store.system(username)
            if system is not None and system.networks and not system.calls_from(address):
                counters.append(Counter(f"username:{username}", s.max_username_failures))
        return counters

    def authenticate(self, security_headers: Sequence[etree._Element], facts: TransportFacts) -> Caller:
        if facts.untrusted_proxy_headers:
            security_event("auth.proxy_headers_ignored", address=facts.client_address)
        if facts.untrusted_assertion:
            security_event("auth.gateway_assertion_ignored", address=facts.client_address, reason="untrusted address")
        if facts.gateway_assertion is not None and self.gateway is not None:
            caller = self._gateway(facts)
            if caller is not None:
                return caller
        token: UsernameToken | None = None
        usernames: list[str] = []
        try:
            if len(security_headers) > 1:
                raise AuthenticationError(
                    "send one wsse:Security header", "several Security headers", FailureKind.MALFORMED
                )
            if security_headers:
                try:
                    token = read_username_token(security_headers[0])
                except TokenError as exc:
                    raise AuthenticationError(f"WS-Security: {exc}", str(exc), FailureKind.MALFORMED) from None
                usernames.append(token.username)
            if facts.basic_malformed:
                raise AuthenticationError(
                    "the Authorization header is not HTTP Basic credentials",
                    "malformed Authorization",
                    FailureKind.MALFORMED,
                )
            if facts.basic:
                usernames.append(facts.basic[0])
            wait = self.guard.wait(self.counters(usernames, facts.client_address))
            if wait is not None:
                raise AuthenticationError(
                    f"too many failed attempts; try again in {wait.retry_after} seconds",
                    f"waiting {wait.seconds:.1f} s ({wait.key})",
                    FailureKind.RATE_LIMITED,
                )
            caller = self._verify(token, facts)
        except AuthenticationError as failure:
            self.on_failure(failure.kind)
            if failure.kind is FailureKind.BAD_CREDENTIALS:  # a password checked and wrong: a guess
                self.guard.failed(self._recorded(usernames, facts.client_address))
            security_event(
                "auth.failed",
                username=",".join(usernames) or None,
                address=facts.client_address,
                tls=facts.tls,
                reason=failure.reason,
            )
            raise ConnectorError(
                ErrorCode.UNAUTHENTICATED, f"authentication failed: {failure.public}", "Envelope/Header"
            ) from None
        security_event(
            "auth.ok", logging.DEBUG, system=caller.system_id, method=caller.method.value, address=facts.client_address
        )
        return caller

    def _recorded(self, usernames: Sequence[str], address: str) -> list[Counter]:
        """A failure is recorded under every key, the username's included (whether it is consulted
        depends on where the next attempt comes from)."""
        where = address_key(address)
        s = self.settings
        return [
            Counter(f"address:{where}", s.max_address_failures),
            *(Counter(f"pair:{u}@{where}", s.max_failures) for u in usernames),
            *(Counter(f"username:{u}", s.max_username_failures) for u in usernames),
        ]

    def _verify(self, token: UsernameToken | None, facts: TransportFacts) -> Caller:
        proofs: list[tuple[str, AuthMethod]] = []
        if token is not None:
            proofs.append(self._token(token, facts))
        if facts.basic is not None:
            if not facts.tls:
                raise AuthenticationError(
                    "HTTP Basic is accepted over TLS only", "Basic over plain HTTP", FailureKind.INSECURE_TRANSPORT
                )
            username, password = facts.basic
            self._password(username, password)
            proofs.append((username, AuthMethod.BASIC))
        if facts.certificate_sha256 is not None:
            proofs.append((self._certificate(facts.certificate_sha256), AuthMethod.CERTIFICATE))
        if not proofs:
            raise AuthenticationError(
                "no credentials: send a WS-Security UsernameToken (PasswordDigest), or HTTP Basic or a client "
                "certificate over TLS",
                "no credentials",
                FailureKind.NO_CREDENTIALS,
            )
        names = {system_id for system_id, _ in proofs}
        if len(names) > 1:
            raise AuthenticationError(
                "the credentials name different systems",
                f"credentials for {sorted(names)}",
                FailureKind.CONFLICTING_CREDENTIALS,
            )
        system = self.store.system(proofs[0][0])
        if system is None:  # credentials outlived the directory entry
            raise AuthenticationError(
                BAD_PASSWORD, f"system {proofs[0][0]!r} is not in the directory", FailureKind.UNKNOWN_SYSTEM
            )
        return Caller(system, proofs[0][1])

    def _gateway(self, facts: TransportFacts) -> Caller | None:
        """The system an API gateway vouches for, or None (logged): the usual rules then apply."""
        assert self.gateway is not None and facts.gateway_assertion is not None
        try:
            application = self.gateway.verify(facts.gateway_assertion).application
        except GatewayAssertionError as exc:
            security_event("auth.gateway_assertion_refused", address=facts.client_address, reason=str(exc))
            return None
        system = self.store.system_for_gateway_application(application)
        if system is None:
            security_event(
                "auth.gateway_assertion_refused",
                address=facts.client_address,
                reason=f"application {application!r} is no system's gateway_application",
            )
            return None
        security_event("auth.ok", logging.DEBUG, system=system.system_id, method="gateway-jwt", application=application)
        return Caller(system, AuthMethod.GATEWAY_JWT)

    def _token(self, token: UsernameToken, facts: TransportFacts) -> tuple[str, AuthMethod]:
        if token.password_type is PasswordType.TEXT:
            if not facts.tls:
                raise AuthenticationError(
                    "PasswordText is accepted over TLS only; use PasswordDigest",
                    "PasswordText over plain HTTP",
                    FailureKind.INSECURE_TRANSPORT,
                )
            self._password(token.username, token.password)
            return token.username, AuthMethod.PASSWORD_TEXT
        assert token.created is not None and token.nonce is not None  # read_username_token checked
        now = self.clock()
        window = timedelta(seconds=self.settings.created_window)
        if not now - window <= token.created <= now + window:
            raise AuthenticationError(
                f"Created must be within {self.settings.created_window:.0f} seconds of the server's "
                f"time ({now:%Y-%m-%dT%H:%M:%SZ})",
                "Created outside the window",
                FailureKind.STALE_CREATED,
            )
        secret = self._secret(token.username)
        if secret is None or not token.digest_matches(secret):
            raise AuthenticationError(
                BAD_PASSWORD, "unknown username" if secret is None else "wrong digest", FailureKind.BAD_CREDENTIALS
            )
        nonce = base64.b64encode(token.nonce).decode("ascii")
        if not self._use_nonce(nonce, token.username, now, now - 2 * window):
            raise AuthenticationError(
                "the Nonce was used before (a replay)", "nonce replay", FailureKind.REPLAYED_NONCE
            )
        return token.username, AuthMethod.PASSWORD_DIGEST

    def _use_nonce(self, nonce: str, username: str, now: datetime, forget_before: datetime) -> bool:
        """In the store; in this process's memory while the store cannot write (``nonces.py``)."""
        try:
            fresh = self.credentials.use_nonce(nonce, username, now, forget_before)
        except StoreUnavailableError as exc:
            if self._memory_nonces_since is None:
                self._memory_nonces_since = now
                log.warning("nonces kept in memory: the store cannot record them (%s)", exc.detail)
            return self._memory_nonces.use(nonce, username, now, forget_before)
        if self._memory_nonces_since is not None:
            log.warning("nonces recorded in the store again (in memory since %s)", self._memory_nonces_since)
            self._memory_nonces_since = None
        # A nonce this process kept in memory is a replay even once the store records again.
        return fresh and not self._memory_nonces.seen(nonce, username, forget_before)

    def _password(self, username: str, password: str) -> None:
        secret = self._secret(username)
        if secret is None or not hmac.compare_digest(secret.encode(), password.encode()):
            raise AuthenticationError(
                BAD_PASSWORD, "unknown username" if secret is None else "wrong password", FailureKind.BAD_CREDENTIALS
            )

    def _secret(self, username: str) -> str | None:
        sealed = self.credentials.sealed_password(username)
        if sealed is None:
            return None
        try:
            return self.box.open(sealed)
        except SecretKeyError as exc:  # the operator's problem, not the caller's
            log.error("%s", exc)
            raise ConnectorError(ErrorCode.INTERNAL, "internal error; nothing was stored") from None

    def _certificate(self, sha256: str) -> str:
        mapping = self.credentials.system_for_certificate(sha256)
        if mapping is None:
            raise AuthenticationError(
                "the client certificate is not mapped to a system",
                f"unmapped certificate {sha256}",
                FailureKind.UNKNOWN_CERTIFICATE,
            )
        if mapping.not_after < self.clock():
            raise AuthenticationError(
                "the client certificate has expired", f"expired certificate {sha256}", FailureKind.EXPIRED_CERTIFICATE
            )
        return mapping.system_id


def failure_delays(settings: AuthSettings) -> Delays:
    return Delays(settings.failure_window, settings.failure_delay, max(settings.failure_delay, settings.failure_window))
