"""Python besides zeep: ``suds-community`` (pinned in requirements-dev.txt)."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import UTC, datetime

from suds import WebFault
from suds.client import Client
from suds.sax.element import Element

from tests.interop.conftest import UNKNOWN_DOSSIER, Order, check_transcript, credentials, new_order

WSSE = ("wsse", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd")
WSU = ("wsu", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd")
DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"


def authenticate(client: Client, environ: dict[str, str]) -> None:
    """Credentials from the environment as a WS-Security UsernameToken with PasswordDigest
    (suds's own ``suds.wsse`` sends only PasswordText, refused over plain HTTP). A fresh nonce:
    call it before every request."""
    user = environ.get("CONNECTOR_USERNAME")
    if not user:
        return
    nonce = os.urandom(16)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hashlib.sha1(nonce + created.encode() + environ["CONNECTOR_PASSWORD"].encode()).digest()
    token = Element("UsernameToken", ns=WSSE)
    token.append(Element("Username", ns=WSSE).setText(user))
    password = Element("Password", ns=WSSE).setText(base64.b64encode(digest).decode())
    password.set("Type", DIGEST)
    token.append(password)
    token.append(Element("Nonce", ns=WSSE).setText(base64.b64encode(nonce).decode()))
    token.append(Element("Created", ns=WSU).setText(created))
    security = Element("Security", ns=WSSE)
    security.append(token)
    client.set_options(soapheaders=security)


def play(base_url: str, order: Order, environ: dict[str, str]) -> str:
    """The scenario of tests/interop/conftest.py; its transcript."""
    client = Client(f"{base_url}/soap?wsdl", cache=None)  # the default: the WSDL's one port
    dossier = client.factory.create("{urn:vn:lienthong:connector:1}Dossier")
    dossier.dossierCode = order.dossier_code
    dossier.procedureCode = order.procedure_code
    authenticate(client, environ)
    receipt = client.service.sendDocument(
        messageId=order.message_id,
        edxmlPackage=base64.b64encode(order.package_file.read_bytes()).decode(),  # suds does not encode base64
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier=dossier,
    )
    lines = [f"sent {receipt.state} {receipt.exchangeId}"]
    authenticate(client, environ)
    status = client.service.getStatus(dossierCode=order.dossier_code)
    lines.append(f"status {status.exchangeId} {status.state}")
    authenticate(client, environ)
    try:
        client.service.getStatus(dossierCode=UNKNOWN_DOSSIER)
        lines.append("fault none")
    except WebFault as fault:
        detail = fault.fault.detail.ConnectorFault  # the WSDL's typed fault
        lines.append(f"fault {detail.code} {detail.field}")
    return "\n".join(lines)


def test_a_suds_client_sends_reads_the_status_and_gets_a_typed_fault(live, tmp_path):
    order = new_order(live, tmp_path, "suds")
    check_transcript(live, order, play(live.url, order, credentials(live)))
