"""Shared fixtures of the security suite: live connectors (``testkit.live``), one per test or
one per module (``live``, for the hostile-input families), raw HTTP posts with hand-made
WS-Security headers, and the "no row changed" check every case makes (the faults themselves are
read and checked by ``testkit.faults``)."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from connector.auth.wsse import WSSE, WSU, PasswordType
from connector.store import Store, tables
from simulators import guide
from testkit.live import LiveConnector, start_connector
from testkit.net import new_id
from testkit.rawsoap import authenticating

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:vn:lienthong:connector:1"


@pytest.fixture
def connector(tmp_path) -> Iterator[LiveConnector]:
    live, server = start_connector(tmp_path / "data")
    yield live
    server.stop()
    live.runtime.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveConnector]:
    """One connector per module, authenticating hand-written envelopes (``testkit.rawsoap``):
    every case must leave it as it found it (checked by ``testkit.faults.refused_envelope``)."""
    connector, server = start_connector(tmp_path_factory.mktemp("limits") / "data")
    with authenticating(connector):
        yield connector
    server.stop()
    connector.runtime.close()


@pytest.fixture
def behind_proxy(tmp_path) -> Iterator[LiveConnector]:
    """A connector that believes the TLS proxy headers of requests from 127.0.0.1."""
    live, server = start_connector(tmp_path / "data", auth={"trusted_proxies": ["127.0.0.1"]})
    yield live
    server.stop()
    live.runtime.close()


def rows(store: Store, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every row of every table but the failed-attempt counts (a refused guess is counted, by
    design), to compare before and after a hostile request."""
    with store.engine.connect() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(select(t))), key=repr)
            for t in tables.metadata.sorted_tables
            if t.name not in skip and t.name != "auth_failures"
        }


@contextmanager
def unchanged(connector: LiveConnector, skip: tuple[str, ...] = ()) -> Iterator[None]:
    """Asserts no row changed. Authenticated requests record their nonce: pass
    ``skip=("auth_nonces",)`` for those."""
    before = rows(connector.runtime.store, skip)
    yield
    assert rows(connector.runtime.store, skip) == before


def usernametoken(
    username: str,
    password: str,
    *,
    nonce: bytes | None = None,
    created: str | None = None,
    password_type: str | None = PasswordType.DIGEST.value,
    digest: bool = True,
    must_understand: bool = False,
    omit: tuple[str, ...] = (),
) -> str:
    """A ``wsse:Security`` header as text, every part adjustable (``omit``: Nonce, Created, Password)."""
    nonce = os.urandom(16) if nonce is None else nonce
    created = created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if digest:
        password = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
    kind = f' Type="{password_type}"' if password_type else ""
    parts = [f"<w:Username>{username}</w:Username>"]
    if "Password" not in omit:
        parts.append(f"<w:Password{kind}>{password}</w:Password>")
    if "Nonce" not in omit:
        parts.append(f"<w:Nonce>{base64.b64encode(nonce).decode()}</w:Nonce>")
    if "Created" not in omit:
        parts.append(f"<u:Created>{created}</u:Created>")
    mu = ' s:mustUnderstand="1"' if must_understand else ""
    token = f"<w:UsernameToken>{''.join(parts)}</w:UsernameToken>"
    return f'<w:Security xmlns:w="{WSSE}" xmlns:u="{WSU}"{mu}>{token}</w:Security>'


def minutes_from_now(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(header: str, body: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:c="{NS}"><s:Header>{header}</s:Header>'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def send_body(connector: LiveConnector, package: bytes | None = None, procedure: str = guide.PROCEDURE_CODE) -> str:
    """A valid sendDocument body (the guide's signed package): were authentication skipped, it
    would create an exchange – which is what "no row changed" checks."""
    data = package if package is not None else connector.sign(guide.send_package())
    return (
        f"<c:sendDocument><c:messageId>{new_id()}</c:messageId><c:edxmlPackage>{base64.b64encode(data).decode()}"
        "</c:edxmlPackage><c:kind>INCOMING</c:kind><c:senderUsername>cbtiepnhan</c:senderUsername>"
        f"<c:dossier><c:dossierCode>{guide.DOSSIER_CODE}</c:dossierCode><c:procedureCode>{procedure}"
        "</c:procedureCode></c:dossier></c:sendDocument>"
    )


def post(connector: LiveConnector, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(
        f"{connector.url}/soap",
        data=body,
        timeout=30,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'} | (headers or {}),
    )
