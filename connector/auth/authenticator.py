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
from connector.auth.ratelimit import FailureLimiter, SharedFailures
from connector.auth.secretbox import SecretBox, SecretKeyError
from connector.auth.transport import TransportFacts
from connector.auth.wsse import PasswordType, TokenError, UsernameToken, read_username_token
from connector.clock import utcnow
from connector.config import AuthSettings
from connector.errors import ConnectorError, ErrorCode
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

    def __init__(self, public: str, reason: str, kind: FailureKind, counts: bool = True) -> None:
        super().__init__(self.code, reason)
        self.public = public
        self.reason = reason
        self.kind = kind
        self.counts = counts  # a guess worth rate-limiting (not, say, a request with no credentials)


class Authenticator:
    def __init__(
        self,
        store: Store,
        box: SecretBox,
        settings: AuthSettings,
        clock: Callable[[], datetime] = utcnow,
        limiter: FailureLimiter | None = None,
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
        self.limiter = limiter or FailureLimiter(settings.max_failures, settings.failure_window)
        self.shared = SharedFailures(self.credentials, settings.max_failures, settings.failure_window, wall=clock)

    def authenticate(self, security_headers: Sequence[etree._Element], facts: TransportFacts) -> Caller:
        if facts.untrusted_proxy_headers:
            security_event("auth.proxy_headers_ignored", address=facts.client_address)
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
            keys = [f"address:{facts.client_address}", *(f"username:{u}" for u in usernames)]
            blocked = self.limiter.blocked(keys) or self.shared.blocked(keys)
            if blocked:
                raise AuthenticationError(
                    "too many failed attempts; try again later",
                    f"rate limited ({blocked})",
                    FailureKind.RATE_LIMITED,
                    counts=False,
                )
            caller = self._verify(token, facts)
        except AuthenticationError as failure:
            self.on_failure(failure.kind)
            if failure.counts:
                keys = [f"address:{facts.client_address}", *(f"username:{u}" for u in usernames)]
                self.limiter.failed(keys)
                self.shared.failed(keys)
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
                counts=False,
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
        if not self.credentials.use_nonce(nonce, token.username, now, now - 2 * window):
            raise AuthenticationError(
                "the Nonce was used before (a replay)", "nonce replay", FailureKind.REPLAYED_NONCE
            )
        return token.username, AuthMethod.PASSWORD_DIGEST

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
