"""The baseline of bench_http.py: the connector's SOAP contract served by bare Spyne doing no work.

The same service definition (``connector.soap.service.ConnectorService``: the same operations,
argument types and models, so a request body is read and XSD-validated exactly as far as Spyne
does it) inside a plain Spyne ``Application`` with Spyne's own ``Soap11(validator='lxml')``, on
the same waitress with the same options (``connector.serving.httpserver``). Instead of calling the
operations it answers every request with a constant: no authentication, no signature check, no
edXML validation, no database, no logging. ``huge_tree`` is on (a 20 MiB attachment is one
text node of more than 10 MB, which libxml2 refuses otherwise) and the body limit is the
connector's ``max_request_bytes``.

    .venv/bin/python bench/bare_spyne.py --port 8099 [--threads 8]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.config import Settings
from connector.serving.httpserver import create_server, server_options
from connector.soap import models
from connector.soap.service import ConnectorService
from connector.soap.spyne_compat import Application, Soap11, WsgiApplication

ROOT = Path(__file__).resolve().parents[1]

AT = datetime(2026, 1, 1, tzinfo=UTC)
# About the size of the connector's signed receipt (an XML-DSig signed element with a certificate),
# so both answers carry a similar base64 field.
SIGNED_RECEIPT = b"<Receipt>" + b"x" * 3200 + b"</Receipt>"
ITEM = models.PendingItem(
    itemId=1, messageId="m", operation="deliverDocument", exchangeId="e", createdAt=AT, state="pending"
)


def _receipt() -> models.Receipt:
    return models.Receipt(
        messageId="bench-message",
        operation="sendDocument",
        exchangeId="bench-exchange",
        acceptedAt=AT,
        state="accepted",
        documentId="bench-document",
        packageDigest="0" * 64,
        routing=models.Routing(agencyId="000.00.31.H31", queue="registration", targetAccount="vanthu.stp"),
        signedReceipt=[SIGNED_RECEIPT],
    )


def _status() -> models.ExchangeStatus:
    event = models.TimelineEvent(at=AT, state="accepted", actor="000.00.13.H31/cbtiepnhan", packageDigest="0" * 64)
    return models.ExchangeStatus(
        exchangeId="bench-exchange",
        kind="INCOMING",
        state="accepted",
        documentId="bench-document",
        dossierCode="BENCH",
        onestopNumber="1",
        procedureCode="2.000908.000.00.00.H31",
        agencyId="000.00.31.H31",
        queue="registration",
        targetAccount="vanthu.stp",
        timeline=[event],
        result=None,
    )


ANSWERS: dict[str, Any] = {
    "sendDocument": _receipt(),
    "publishResult": _receipt(),
    "updateStatus": _receipt(),
    "getStatus": _status(),
    "listPending": [ITEM],
    "fetchPending": models.FetchedItem(item=ITEM, metadata="{}", edxmlPackage=None),
    "acknowledge": ITEM,
}
assert set(ANSWERS) == set(ConnectorService.public_methods), "an operation was added: give it an answer"


class ConstantApplication(Application):
    """Spyne reads, validates and deserialises the request, then gets a constant instead of
    calling the operation (the connector's adapters and its service are never reached)."""

    def call_wrapper(self, ctx: Any) -> Any:
        return ANSWERS[ctx.descriptor.name]


def bare_app(max_request_bytes: int) -> WsgiApplication:
    application = ConstantApplication(
        [ConnectorService],
        tns=models.TNS,
        name="Connector",
        in_protocol=Soap11(validator="lxml", huge_tree=True),
        out_protocol=Soap11(),
    )
    return WsgiApplication(application, max_content_length=max_request_bytes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads (as server.py)")
    args = parser.parse_args()
    settings = Settings()
    server = create_server(
        bare_app(settings.max_request_bytes), "127.0.0.1", args.port, **server_options(settings, args.threads)
    )
    print(f"bare spyne listening on http://127.0.0.1:{args.port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
