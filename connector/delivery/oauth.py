"""OAuth2 client credentials for partners published through an API gateway (WSO2 API Manager:
``POST {gateway}/token``, ``grant_type=client_credentials``).

One ``TokenSource`` per partner, shared by the partner's delivery threads: the token is cached,
refreshed shortly before it expires, fetched by one thread at a time (the others wait for it and
use it), and dropped when the gateway refuses it (``invalidate``) – once, however many threads saw
the refusal, so a 401 costs exactly one fresh token. The token request itself is Authlib's
(``authlib.integrations.requests_client.OAuth2Session``); the secret is read from the store
(sealed, ``credentials set-partner``) at each fetch, so a corrected secret is used at the next one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from connector.errors import SimpleError
from connector.exchange.directory import ClientAuth, PartnerAuth

REFRESH_MARGIN = 60.0  # seconds before expiry when a token is replaced (at most a tenth of its life)
DEFAULT_LIFETIME = 300.0  # a token answer without expires_in
_AUTH_METHOD = {ClientAuth.BASIC: "client_secret_basic", ClientAuth.FORM: "client_secret_post"}


class TokenRefusedError(SimpleError):
    """The token endpoint refused the connector's client credentials: an operator must act."""


class TokenUnavailableError(SimpleError):
    """No token for now (the endpoint is down, slow, or answered nonsense): retry later."""


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # on the source's clock
    refresh_at: float


class TokenSource:
    """One partner's bearer token, shared by its delivery threads."""

    def __init__(
        self,
        system_id: str,
        auth: PartnerAuth,
        secret: Callable[[], str | None],
        timeout: tuple[float, float],
        clock: Callable[[], float] = time.monotonic,
        on_fetch: Callable[[str, bool], None] = lambda system_id, ok: None,
    ) -> None:
        self.system_id = system_id
        self.auth = auth
        self._secret = secret
        self._timeout = timeout
        self._clock = clock
        self._on_fetch = on_fetch
        self._token: Token | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def token(self) -> str:
        """A token valid for a while yet; fetches one (one thread at a time) when needed."""
        with self._lock:
            current = self._token
            if current is None or self._clock() >= current.refresh_at:
                current = self._token = self._fetch()
            return current.value

    def invalidate(self, value: str) -> None:
        """The gateway refused ``value``: the next ``token()`` fetches a fresh one, unless another
        thread has already replaced it."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def _fetch(self) -> Token:
        # Imported here: only a process that calls a partner through a gateway needs Authlib (the
        # command line's other commands do not pay its import time).
        from authlib.integrations.base_client.errors import OAuthError
        from authlib.integrations.requests_client import OAuth2Session

        secret = self._secret()
        if not secret:
            raise TokenRefusedError(
                f"no client secret for {self.system_id}: python -m connector credentials set-partner "
                f"{self.system_id} --secret-stdin"
            )
        self.fetches += 1
        statuses: list[int] = []
        session = OAuth2Session(
            client_id=self.auth.client_id,
            client_secret=secret,
            token_endpoint_auth_method=_AUTH_METHOD[self.auth.client_auth],
            scope=self.auth.scope,
        )
        session.trust_env = False  # no proxies or CA bundles from the environment
        session.register_compliance_hook("access_token_response", lambda r: statuses.append(r.status_code) or r)
        try:
            with session:
                answer = session.fetch_token(
                    self.auth.token_url, grant_type="client_credentials", timeout=self._timeout
                )
        except OAuthError as exc:  # an RFC 6749 error answer: invalid_client, unauthorized_client, ...
            self._on_fetch(self.system_id, False)
            raise TokenRefusedError(f"token endpoint refused the client credentials: {exc.error}") from None
        except requests.HTTPError as exc:
            self._on_fetch(self.system_id, False)
            status = exc.response.status_code if exc.response is not None else 0
            if status in (400, 401, 403):
                raise TokenRefusedError(f"token endpoint answered HTTP {status}") from None
            raise TokenUnavailableError(f"token endpoint answered HTTP {status}") from None
        except (requests.RequestException, ValueError) as exc:
            self._on_fetch(self.system_id, False)
            raise TokenUnavailableError(f"token endpoint: {type(exc).__name__}: {exc}") from None
        value = answer.get("access_token")
        if not isinstance(value, str) or not value:
            self._on_fetch(self.system_id, False)
            status = statuses[-1] if statuses else 0
            if status in (401, 403):
                raise TokenRefusedError(f"token endpoint answered HTTP {status} without a token")
            raise TokenUnavailableError(f"token endpoint answered HTTP {status} without a token")
        self._on_fetch(self.system_id, True)
        try:
            lifetime = float(answer.get("expires_in") or DEFAULT_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        now = self._clock()
        return Token(value, now + lifetime, now + lifetime - min(REFRESH_MARGIN, lifetime / 10))


class TokenSources:
    """Every partner's ``TokenSource`` in this process; a source is replaced when the partner's
    ``auth`` changes in the directory."""

    def __init__(
        self,
        secret: Callable[[str], str | None],
        timeout: tuple[float, float],
        on_fetch: Callable[[str, bool], None] = lambda system_id, ok: None,
    ) -> None:
        self._secret = secret
        self._timeout = timeout
        self._on_fetch = on_fetch
        self._sources: dict[str, TokenSource] = {}
        self._lock = threading.Lock()

    def source(self, system_id: str, auth: PartnerAuth) -> TokenSource:
        with self._lock:
            source = self._sources.get(system_id)
            if source is None or source.auth != auth:
                source = self._sources[system_id] = TokenSource(
                    system_id, auth, lambda: self._secret(system_id), self._timeout, on_fetch=self._on_fetch
                )
            return source
