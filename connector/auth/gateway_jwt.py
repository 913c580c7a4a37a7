"""Calls published behind an API gateway (an LGSP, the NGSP: WSO2 API Manager): the gateway
authenticates the calling application with its own OAuth2 token and tells the connector who it
was in a JWT it signs (``X-JWT-Assertion``), not in a UsernameToken.

The assertion is believed only from the gateway's addresses (``[auth.gateway] trusted_proxies``),
only when its signature verifies with the gateway's public key (a PEM file or a JWKS file; the
algorithm is the key's, never the token's choice), only before its ``exp`` (``leeway`` seconds
of clock skew) and, when ``issuer`` is set, only from that issuer. Its application claim
(WSO2's ``http://wso2.org/claims/applicationname`` by default) names the system through the
directory's ``systems[].gateway_application``. Anything else falls back to the usual
authentication (docs/lgsp.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from connector.config import ConfigError, GatewayAuthSettings
from connector.errors import SimpleError

ALGORITHMS_OF_KEY = {
    rsa.RSAPublicKey: ["RS256", "RS384", "RS512", "PS256"],
    ec.EllipticCurvePublicKey: ["ES256", "ES384"],
}


class GatewayAssertionError(SimpleError):
    """An assertion that is not believed; the message (for the security log) says why."""


@dataclass(frozen=True)
class GatewayAssertion:
    application: str
    claims: dict[str, Any]


def _algorithms(key: Any) -> list[str]:
    for kind, algorithms in ALGORITHMS_OF_KEY.items():
        if isinstance(key, kind):
            return algorithms
    raise ConfigError(f"auth.gateway: unsupported key type {type(key).__name__} (RSA or EC)")


class GatewayVerifier:
    def __init__(self, settings: GatewayAuthSettings) -> None:
        import jwt  # only a connector published behind a gateway needs PyJWT (not every command)

        self._jwt = jwt
        self.settings = settings
        self._keys: dict[str | None, Any] = {}
        try:
            if settings.jwks_file is not None:
                for jwk in jwt.PyJWKSet.from_json(settings.jwks_file.read_text(encoding="utf-8")).keys:
                    self._keys[jwk.key_id] = jwk.key
            if settings.public_key_file is not None:
                self._keys[None] = serialization.load_pem_public_key(settings.public_key_file.read_bytes())
        except (OSError, ValueError, jwt.PyJWKError, json.JSONDecodeError) as exc:
            raise ConfigError(f"auth.gateway: cannot read the gateway's public key: {exc}") from None
        if not self._keys:
            raise ConfigError("auth.gateway: set public_key_file or jwks_file (the gateway's public key)")
        for key in self._keys.values():
            _algorithms(key)

    def verify(self, token: str) -> GatewayAssertion:
        jwt = self._jwt
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise GatewayAssertionError(f"not a JWT: {exc}") from None
        key = self._keys.get(kid) or (next(iter(self._keys.values())) if len(self._keys) == 1 else None)
        if key is None:
            raise GatewayAssertionError(f"no gateway key with kid {kid!r}")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=_algorithms(key),
                issuer=self.settings.issuer,
                leeway=self.settings.leeway,
                options={"require": ["exp"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise GatewayAssertionError("the assertion has expired") from None
        except jwt.PyJWTError as exc:
            raise GatewayAssertionError(f"the assertion does not verify: {exc}") from None
        application = claims.get(self.settings.application_claim)
        if not isinstance(application, str) or not application:
            raise GatewayAssertionError(f"the assertion has no {self.settings.application_claim} claim")
        return GatewayAssertion(application, claims)
