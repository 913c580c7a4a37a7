"""WS-Security 1.0 UsernameToken (OASIS Username Token Profile 1.0), as legacy government SOAP
clients and zeep's ``UsernameToken(user, password, use_digest=True)`` send it.

``PasswordDigest`` = base64(SHA-1(nonce bytes + Created text + password)); ``PasswordText`` is the
password itself (accepted over TLS only, by the authenticator).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from lxml import etree

from connector.errors import SimpleError

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
SECURITY = f"{{{WSSE}}}Security"
_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
MAX_NONCE_BYTES = 64  # zeep sends 16; anything longer is not a nonce


class PasswordType(enum.StrEnum):
    DIGEST = f"{_PROFILE}#PasswordDigest"
    TEXT = f"{_PROFILE}#PasswordText"


class TokenError(SimpleError, ValueError):
    """The header is not a usable UsernameToken; the message says why (never with a secret)."""


@dataclass(frozen=True)
class UsernameToken:
    username: str
    password_type: PasswordType
    password: str = field(repr=False)
    nonce: bytes | None = field(default=None, repr=False)
    created: datetime | None = None
    created_text: str | None = None  # exactly as sent: the digest covers these characters

    def digest_matches(self, secret: str) -> bool:
        if self.nonce is None or self.created_text is None:
            return False
        expected = base64.b64encode(hashlib.sha1(self.nonce + self.created_text.encode() + secret.encode()).digest())
        return hmac.compare_digest(expected, self.password.encode())


def digest_header(username: str, password: str, nonce: bytes, created: str) -> str:
    """A ``wsse:Security`` header with a PasswordDigest UsernameToken, as text: what a client
    without a WS-Security library puts in ``soap:Header`` (docs/integration.md)."""
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
    return (
        f'<w:Security xmlns:w="{WSSE}" xmlns:u="{WSU}"><w:UsernameToken><w:Username>{escape(username)}</w:Username>'
        f'<w:Password Type="{PasswordType.DIGEST.value}">{digest}</w:Password>'
        f"<w:Nonce>{base64.b64encode(nonce).decode()}</w:Nonce><u:Created>{created}</u:Created>"
        "</w:UsernameToken></w:Security>"
    )


def read_username_token(security: etree._Element) -> UsernameToken:
    """The one UsernameToken of a ``wsse:Security`` header (a ``wsu:Timestamp`` may sit beside it)."""
    tokens = security.findall(f"{{{WSSE}}}UsernameToken")
    if len(tokens) != 1:
        raise TokenError(f"the Security header must hold one UsernameToken, not {len(tokens)}")
    token = tokens[0]
    username = _one_text(token, f"{{{WSSE}}}Username", "Username", required=True)
    passwords = token.findall(f"{{{WSSE}}}Password")
    if len(passwords) != 1:
        raise TokenError("the UsernameToken must hold one Password")
    kind = passwords[0].get("Type") or PasswordType.TEXT.value  # the profile's default
    try:
        password_type = PasswordType(kind.strip())
    except ValueError:
        raise TokenError("Password Type must be PasswordDigest or PasswordText") from None
    nonce_text = _one_text(token, f"{{{WSSE}}}Nonce", "Nonce")
    created_text = _one_text(token, f"{{{WSU}}}Created", "Created")
    nonce = None
    if nonce_text is not None:
        try:
            nonce = base64.b64decode(nonce_text, validate=True)
        except (binascii.Error, ValueError):
            raise TokenError("Nonce is not base64") from None
        if not 8 <= len(nonce) <= MAX_NONCE_BYTES:
            raise TokenError(f"Nonce must be 8 to {MAX_NONCE_BYTES} bytes")
    created = _parse_created(created_text) if created_text is not None else None
    if password_type is PasswordType.DIGEST and (nonce is None or created is None):
        raise TokenError("PasswordDigest needs a Nonce and a Created time")
    return UsernameToken(username, password_type, passwords[0].text or "", nonce, created, created_text)


def _one_text(token: etree._Element, tag: str, name: str, required: bool = False) -> str | None:
    found = token.findall(tag)
    if len(found) > 1:
        raise TokenError(f"the UsernameToken has {len(found)} {name} elements")
    if not found:
        if required:
            raise TokenError(f"the UsernameToken has no {name}")
        return None
    text = (found[0].text or "").strip()
    if not text:
        raise TokenError(f"{name} is empty")
    return text


def _parse_created(text: str) -> datetime:
    try:
        created = datetime.fromisoformat(text)
    except ValueError:
        raise TokenError("Created is not an xsd:dateTime") from None
    # The profile says UTC; a time without a zone is read as UTC.
    return created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
