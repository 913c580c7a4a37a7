"""A simulator's calls to the connector: recorded first, then sent in order.

Every call (updateStatus, publishResult, sendDocument) is written to the simulator's database in
the same transaction as the business change that causes it (an outbox), then sent. That keeps
the simulator's screens and what it told the connector consistent when the connector is down,
lets a retry reuse the same message id and the same signed bytes (the connector de-duplicates
on both), and keeps statuses in order: a call waits behind an earlier one that is still pending,
since "registered" sent after "assigned" would be refused as a step backwards.

A ``Client.*`` fault means the connector will never take that message: it is marked rejected
and the queue moves on. Anything else (connection refused, timeout, ``Server.*``) leaves it
pending for ``flush()``.
"""

from __future__ import annotations

import enum
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
import zeep
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from simulators.db import Database

CONNECTOR_NS = "urn:vn:lienthong:connector:1"  # the connector contract's namespace (its typed fault detail)

CALLS_SCHEMA = """
CREATE TABLE IF NOT EXISTS connector_calls (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    operation TEXT NOT NULL,
    arguments TEXT NOT NULL,            -- JSON, besides messageId and package
    package BLOB NOT NULL,              -- the signed edXML bytes, resent unchanged on retry
    outcome TEXT NOT NULL,              -- pending | delivered | rejected
    state TEXT,                         -- the exchange state in the connector's receipt
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class ConnectorEndpoint:
    """Where the connector is and who we are to it; its WSDL is read on the first call, so it
    may start later. Calls carry a WS-Security UsernameToken (PasswordDigest) when a system id
    and password are given, as the connector requires (docs/security.md)."""

    wsdl_url: str = "http://127.0.0.1:8080/soap?wsdl"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    system_id: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def at(
        cls, url: str, system_id: str | None = None, password: str | None = None, **timeouts: float
    ) -> ConnectorEndpoint:
        """From the connector's base URL (``http://host:port``) or its WSDL URL."""
        url = url.rstrip("/")
        wsdl = url if url.lower().endswith("?wsdl") else f"{url.removesuffix('/soap')}/soap?wsdl"
        return cls(wsdl, system_id=system_id, password=password, **timeouts)


class CallOutcome(enum.StrEnum):
    PENDING = "pending"  # not sent yet, or the connector could not be reached: flush() retries
    DELIVERED = "delivered"
    REJECTED = "rejected"  # a Client fault: the connector will never take this message


@dataclass(frozen=True)
class ConnectorCall:
    seq: int
    message_id: str
    operation: str
    outcome: CallOutcome
    state: str | None  # the exchange state the connector's receipt reports, e.g. "registered"
    error: str | None
    attempts: int

    @property
    def delivered(self) -> bool:
        return self.outcome is CallOutcome.DELIVERED


def _call(row: Any) -> ConnectorCall:
    return ConnectorCall(
        row["seq"],
        row["message_id"],
        row["operation"],
        CallOutcome(row["outcome"]),
        row["state"],
        row["error"],
        row["attempts"],
    )


class ConnectorLink:
    def __init__(self, endpoint: ConnectorEndpoint, db: Database) -> None:
        self.endpoint = endpoint
        self._db = db
        self._client: zeep.Client | None = None
        # One sender at a time: two threads flushing at once would send the queue out of order.
        self._sending = threading.Lock()

    def record(
        self, conn: Any, operation: str, package: bytes, arguments: dict[str, Any], message_id: str | None = None
    ) -> str:
        """Queue a call inside the caller's transaction; returns its message id."""
        message_id = message_id or str(uuid.uuid4())
        conn.execute(
            "INSERT INTO connector_calls (message_id, operation, arguments, package, outcome, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                message_id,
                operation,
                json.dumps(arguments, ensure_ascii=False, default=str),
                package,
                CallOutcome.PENDING.value,
                datetime.now().isoformat(),
            ),
        )
        return message_id

    def call(self, message_id: str) -> ConnectorCall:
        row = self._db.row("SELECT * FROM connector_calls WHERE message_id = ?", (message_id,))
        if row is None:
            raise KeyError(message_id)
        return _call(row)

    def package(self, message_id: str) -> bytes:
        """The signed bytes a call carries (what the connector received, or will)."""
        row = self._db.row("SELECT package FROM connector_calls WHERE message_id = ?", (message_id,))
        if row is None:
            raise KeyError(message_id)
        return bytes(row["package"])

    def calls(self) -> list[ConnectorCall]:
        return [_call(r) for r in self._db.rows("SELECT * FROM connector_calls ORDER BY seq")]

    def flush(self) -> list[ConnectorCall]:
        """Send pending calls in order, stopping at the first that stays pending; returns what was tried."""
        tried = []
        with self._sending:
            for row in self._db.rows(
                "SELECT * FROM connector_calls WHERE outcome = ? ORDER BY seq", (CallOutcome.PENDING.value,)
            ):
                outcome, state, error = self._send(
                    row["operation"], row["message_id"], row["package"], json.loads(row["arguments"])
                )
                with self._db.transaction() as conn:
                    conn.execute(
                        "UPDATE connector_calls SET outcome = ?, state = ?, error = ?, attempts = attempts + 1 "
                        "WHERE seq = ?",
                        (outcome.value, state, error, row["seq"]),
                    )
                tried.append(self.call(row["message_id"]))
                if outcome is CallOutcome.PENDING:
                    break
        return tried

    def _send(
        self, operation: str, message_id: str, package: bytes, arguments: dict[str, Any]
    ) -> tuple[CallOutcome, str | None, str | None]:
        try:
            client = self._connector()
            receipt = getattr(client.service, operation)(messageId=message_id, edxmlPackage=package, **arguments)
        except zeep.exceptions.Fault as fault:
            # The documented code travels in the typed detail; faultcode is SOAP's Client or Server.
            detail = fault.detail.find(f"{{{CONNECTOR_NS}}}ConnectorFault") if fault.detail is not None else None
            code = (
                detail.findtext(f"{{{CONNECTOR_NS}}}code") if detail is not None else (fault.code or "").split(":")[-1]
            )
            outcome = CallOutcome.REJECTED if code.startswith("Client") else CallOutcome.PENDING
            return outcome, None, f"{code}: {fault.message}"
        except (requests.RequestException, zeep.exceptions.Error) as exc:
            return CallOutcome.PENDING, None, f"{type(exc).__name__}: {exc}"
        return CallOutcome.DELIVERED, receipt.state, None

    def _connector(self) -> zeep.Client:
        # Built on first use and reused (zeep parses the WSDL once); the connector may start after us.
        if self._client is None:
            session = requests.Session()
            session.trust_env = False  # REQUESTS_CA_BUNDLE and proxies from the environment must not apply
            transport = Transport(
                session=session,
                timeout=self.endpoint.connect_timeout,
                operation_timeout=(self.endpoint.connect_timeout, self.endpoint.read_timeout),
            )
            settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
            endpoint = self.endpoint
            token = None
            if endpoint.system_id and endpoint.password:
                token = UsernameToken(endpoint.system_id, endpoint.password, use_digest=True)  # a fresh nonce per call
            self._client = zeep.Client(endpoint.wsdl_url, transport=transport, settings=settings, wsse=token)
        return self._client
