"""The document-management simulator (QLVB, e.g. eOffice) of one agency, following the guide.

Case 1, Văn bản đến: a delivered document gets the next arrival number of the year (Số đến) and
waits in the clerk's *Văn bản đến chờ vào sổ*; the clerk registers it, forwards it to a
specialist, who drafts the reply (the result, flagged *Trả kết quả iGate*); a leader signs it and
the clerk issues it with its number, which publishes the result to the connector.
Case 2, Văn bản đi: the document goes straight into the officer's *Văn bản chờ xử lý* (drafts);
signing and issuing run as in case 1.

Each step reports an edXML status to the connector (``updateStatus``), signed with the agency's
key and pointing at the delivered document:

=====================  ==========================================  ===========================
action                 allowed when                                reported
=====================  ==========================================  ===========================
deliverDocument (SOAP) -                                           01 arrived
register               INCOMING, awaiting registration             03 registered
assign                 INCOMING registered/assigned; OUTGOING      04 assigned
                       draft not yet signed
draft_reply            INCOMING assigned; OUTGOING draft not yet   05 in progress
                       drafted
sign                   a draft, not yet signed                     05 only if nothing reported
                                                                   it yet (OUTGOING signed
                                                                   straight away), else nothing
issue                  signed                                      publishResult (→ finished)
deliverStatus (SOAP)   -                                           - (13 marks it taken back)
=====================  ==========================================  ===========================

Signing has no status of its own in QCVN 102 (05 covers the whole processing), so it reports 05
only when that would otherwise never be said; issuing does not send 06 either: publishResult
finishes the exchange and carries the result file.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from connector.edxml import DocumentPackage, Organization, Priority, ResponseFor, StaffInfo, StatusCode
from connector.exchange.directory import Account, parse_directory
from connector.soap.partner_contracts import DocumentDelivery, StatusDelivery
from simulators.db import Database
from simulators.errors import ActionRefused
from simulators.http import ENVELOPE_PARSE_LIMITS, SoapEndpoint
from simulators.link import CALLS_SCHEMA, ConnectorCall, ConnectorEndpoint, ConnectorLink
from simulators.packages import File, Issued, result_package, signed, status_package
from simulators.partner_service import Acceptance, PartnerRejection, build_docmgmt_application
from simulators.pdf import make_pdf
from simulators.trust import SimulatorKeys

QUEUE_OF_KIND = {"INCOMING": "registration", "OUTGOING": "drafts"}
ROLE_NAMES = {"clerk": "Văn thư", "specialist": "Chuyên viên", "leader": "Lãnh đạo"}
URGENCY_NAMES = {
    Priority.NORMAL: "Thường",
    Priority.URGENT: "Khẩn",
    Priority.VERY_URGENT: "Thượng khẩn",
    Priority.EXPRESS: "Hỏa tốc",
    Priority.EXPRESS_TIMED: "Hỏa tốc hẹn giờ",
}


class DocState(enum.StrEnum):
    AWAITING_REGISTRATION = "awaiting_registration"  # Văn bản đến chờ vào sổ
    REGISTERED = "registered"  # vào sổ văn bản đến
    ASSIGNED = "assigned"  # chuyển chuyên viên xử lý
    DRAFTING = "drafting"  # Văn bản chờ xử lý: a draft exists
    SIGNED = "signed"  # ký số by a leader, waiting for the clerk to issue
    ISSUED = "issued"  # ban hành: numbered, result published
    TAKEN_BACK = "taken_back"  # the one-stop withdrew it (status 13)


IN_DRAFTS = (DocState.DRAFTING, DocState.SIGNED)


@dataclass(frozen=True)
class DocMgmtConfig:
    db_path: Path
    organ_id: str  # the agency this system belongs to, e.g. 000.00.31.H31 (Sở Tư pháp)
    keys_dir: Path  # development key set: the agency's signing identity and the CA it trusts
    connector: ConnectorEndpoint = ConnectorEndpoint()
    accounts: tuple[Account, ...] = ()  # the agency's users; deliveries to anyone else are rejected
    organ_name: str = ""  # for our certificate only: packages say what the sender called us
    place: str = "Hưng Yên"  # PromulgationInfo/Place of what the agency issues
    # Local time (edXML carries none); a test may move it, e.g. across a new year.
    clock: Callable[[], datetime] = field(default=datetime.now, compare=False)


def accounts_from_directory(path: Path, organ_id: str) -> tuple[Account, ...]:
    """The agency's accounts from a connector directory file (e.g. connector/data/sample-directory.json)."""
    directory = parse_directory(path.read_text(encoding="utf-8"), path.name)
    return tuple(a for a in directory.accounts if a.organ_id == organ_id)


# ---- screens ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegistrationRow:
    """A row of *Văn bản đến chờ vào sổ*, with the guide's columns."""

    reference: str
    arrival_number: int  # Số đến, sequential per year
    arrival_date: date  # Ngày đến
    number_symbol: str | None  # Số ký hiệu, e.g. 02/LT_iGate
    abstract: str  # Trích yếu: the dossier code
    issuer: str | None  # Đơn vị ban hành
    form: str | None  # Hình thức, e.g. Công văn
    document_date: date | None  # Ngày văn bản
    urgency: str | None  # Độ khẩn, e.g. Thường
    files: tuple[str, ...]


@dataclass(frozen=True)
class DraftRow:
    """A row of *Văn bản chờ xử lý* (outgoing drafts)."""

    reference: str
    kind: str  # INCOMING (a reply drafted here) | OUTGOING (delivered as a draft)
    state: DocState
    abstract: str  # Trích yếu: "Kết quả giải quyết TTHC" once drafted, else the dossier code
    dossier_code: str
    onestop_number: str | None  # Số hồ sơ iGate
    officer: str  # the handling officer (drafter)
    signer: str | None
    return_to_onestop: bool  # Trả kết quả iGate
    files: tuple[str, ...]


@dataclass(frozen=True)
class Event:
    at: datetime
    direction: str  # sent (to the connector) | received (from it)
    status_code: str | None
    actor: str
    note: str
    message_id: str | None


@dataclass(frozen=True)
class DocumentView:
    reference: str
    exchange_id: str
    kind: str
    state: DocState
    document_id: str
    number_symbol: str | None
    dossier_code: str
    onestop_number: str | None
    target_account: str
    officer: str | None
    arrival_number: int | None
    signer: str | None
    issued_number: str | None
    result_document_id: str | None
    files: tuple[str, ...]
    events: tuple[Event, ...]


SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,      -- what we answer as Accepted.reference
    exchange_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,                  -- INCOMING | OUTGOING
    state TEXT NOT NULL,
    target_account TEXT NOT NULL,        -- the clerk (INCOMING) or the handling officer (OUTGOING)
    officer TEXT,                        -- the specialist handling it / drafting the reply
    document_id TEXT NOT NULL,           -- of the delivered document: statuses and the result answer it
    number_symbol TEXT,
    abstract TEXT NOT NULL,
    dossier_code TEXT NOT NULL,
    onestop_number TEXT,
    procedure_code TEXT NOT NULL,
    procedure_name TEXT,
    officer_opinion TEXT,
    issuer TEXT,
    form TEXT,
    document_date TEXT,
    urgency TEXT,
    sender TEXT NOT NULL,                -- JSON Organization: who sent it (the result goes back there)
    agency TEXT NOT NULL,                -- JSON Organization: us, as the sender addressed us
    arrival_year INTEGER,
    arrival_number INTEGER,
    arrival_date TEXT,
    draft_abstract TEXT,
    return_to_onestop INTEGER NOT NULL DEFAULT 1,
    signer TEXT,
    signer_position TEXT,
    in_progress_reported INTEGER NOT NULL DEFAULT 0,
    issued_number TEXT,
    issue_date TEXT,
    document_identifier TEXT,
    result_document_id TEXT,
    package BLOB NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (arrival_year, arrival_number)
);
CREATE TABLE IF NOT EXISTS files (
    document INTEGER NOT NULL REFERENCES documents(id),
    role TEXT NOT NULL,                  -- received | draft | issued
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS received_messages (
    message_id TEXT PRIMARY KEY,         -- the connector's message id: the de-duplication key
    operation TEXT NOT NULL,
    document INTEGER NOT NULL REFERENCES documents(id),
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES documents(id),
    at TEXT NOT NULL,
    direction TEXT NOT NULL,
    status_code TEXT,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    message_id TEXT
);
"""
    + CALLS_SCHEMA
)


def _reference_of(item: str | RegistrationRow | DraftRow | DocumentView) -> str:
    return item if isinstance(item, str) else item.reference


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class DocMgmtSimulator:
    def __init__(self, config: DocMgmtConfig) -> None:
        self.config = config
        self.keys = SimulatorKeys.development(config.keys_dir, config.organ_id, config.organ_name or config.organ_id)
        self.db = Database(config.db_path, SCHEMA)
        self.link = ConnectorLink(config.connector, self.db)
        self._accounts = {a.username: a for a in config.accounts}

    def close(self) -> None:
        self.db.close()

    def wsgi_app(self, address: str) -> SoapEndpoint:
        return SoapEndpoint(build_docmgmt_application(self, ENVELOPE_PARSE_LIMITS), address, self.screens)

    # ---- SOAP: what the connector delivers --------------------------------------------------
    def deliver_document(self, delivery: DocumentDelivery) -> Acceptance:
        replay = self._replay(delivery.messageId)
        if replay:
            return replay
        queue = QUEUE_OF_KIND.get(delivery.kind)
        if queue is None:
            raise PartnerRejection(f"kind {delivery.kind!r} is neither INCOMING nor OUTGOING")
        if delivery.queue != queue:
            raise PartnerRejection(f"a {delivery.kind} document belongs in the {queue} queue, not {delivery.queue!r}")
        if delivery.targetAccount not in self._accounts:
            raise PartnerRejection(f"no account {delivery.targetAccount!r} in {self.config.organ_id}")
        package = self.keys.read(delivery.package)
        if not isinstance(package, DocumentPackage):
            raise PartnerRejection("deliverDocument needs a document package, not a status package")
        if package.document_id != delivery.documentId:
            raise PartnerRejection(
                f"documentId {delivery.documentId!r} differs from the package's {package.document_id!r}"
            )
        agency = next((r for r in package.recipients if r.organ_id == self.config.organ_id), None)
        if agency is None:
            raise PartnerRejection(
                f"the package is addressed to {', '.join(r.organ_id for r in package.recipients)}, "
                f"not to {self.config.organ_id}"
            )
        now = self.config.clock()
        with self.db.transaction() as conn:
            replay = self._replay(delivery.messageId, conn)
            if replay:
                return replay
            existing = conn.execute(
                "SELECT id, reference FROM documents WHERE exchange_id = ?", (delivery.exchangeId,)
            ).fetchone()
            if existing is not None:
                # Re-sent under a new message id (e.g. after the connector was restored): same document.
                self._received(conn, delivery.messageId, "deliverDocument", existing["id"], now)
                return Acceptance(existing["reference"], duplicate=True)
            document = self._store(conn, delivery, package, agency, now)
            self._received(conn, delivery.messageId, "deliverDocument", document["id"], now)
            self._report(conn, document, StatusCode.ARRIVED, delivery.targetAccount, now)
        # The answer does not wait on the status: arriving and telling about it are separate
        # (a status that cannot be sent now stays queued for flush()).
        self.link.flush()
        return Acceptance(document["reference"])

    def deliver_status(self, delivery: StatusDelivery) -> Acceptance:
        replay = self._replay(delivery.messageId)
        if replay:
            return replay
        package = self.keys.read_status(delivery.package, delivery.statusCode)
        now = self.config.clock()
        with self.db.transaction() as conn:
            replay = self._replay(delivery.messageId, conn)
            if replay:
                return replay
            document = conn.execute(
                "SELECT * FROM documents WHERE exchange_id = ? OR document_id = ?",
                (delivery.exchangeId, delivery.documentId),
            ).fetchone()
            if document is None:
                raise PartnerRejection(
                    f"no document for exchange {delivery.exchangeId!r} / DocumentId {delivery.documentId!r}"
                )
            self._received(conn, delivery.messageId, "deliverStatus", document["id"], now)
            staff = package.staff.staff if package.staff and package.staff.staff else "-"
            self._event(
                conn,
                document["id"],
                now,
                "received",
                package.status_code.value,
                f"{package.sender.organ_id}/{staff}",
                package.description or package.status_code.label,
                delivery.messageId,
            )
            if package.status_code is StatusCode.TAKEN_BACK and document["state"] != DocState.ISSUED:
                conn.execute("UPDATE documents SET state = ? WHERE id = ?", (DocState.TAKEN_BACK.value, document["id"]))
        return Acceptance(document["reference"])

    # ---- screens ----------------------------------------------------------------------------
    def registration_queue(self) -> list[RegistrationRow]:
        """*Văn bản đến chờ vào sổ*: incoming documents awaiting registration, by arrival number."""
        rows = self.db.rows(
            "SELECT * FROM documents WHERE kind = 'INCOMING' AND state = ? ORDER BY arrival_year, arrival_number",
            (DocState.AWAITING_REGISTRATION.value,),
        )
        return [
            RegistrationRow(
                r["reference"],
                r["arrival_number"],
                date.fromisoformat(r["arrival_date"]),
                r["number_symbol"],
                r["abstract"],
                r["issuer"],
                r["form"],
                _date(r["document_date"]),
                r["urgency"],
                self._files(r["id"], "received"),
            )
            for r in rows
        ]

    def drafts(self) -> list[DraftRow]:
        """*Văn bản chờ xử lý*: drafts awaiting signature or issue."""
        rows = self.db.rows(
            f"SELECT * FROM documents WHERE state IN ({', '.join('?' * len(IN_DRAFTS))}) ORDER BY id",
            [s.value for s in IN_DRAFTS],
        )
        return [
            DraftRow(
                r["reference"],
                r["kind"],
                DocState(r["state"]),
                r["draft_abstract"] or r["abstract"],
                r["dossier_code"],
                r["onestop_number"],
                r["officer"] or r["target_account"],
                r["signer"],
                bool(r["return_to_onestop"]),
                self._files(r["id"], "draft") or self._files(r["id"], "received"),
            )
            for r in rows
        ]

    def document(self, item: str | RegistrationRow | DraftRow) -> DocumentView:
        r = self._row(_reference_of(item))
        events = tuple(
            Event(
                datetime.fromisoformat(e["at"]),
                e["direction"],
                e["status_code"],
                e["actor"],
                e["note"],
                e["message_id"],
            )
            for e in self.db.rows("SELECT * FROM events WHERE document = ? ORDER BY id", (r["id"],))
        )
        files = tuple(
            f["name"] for f in self.db.rows("SELECT name FROM files WHERE document = ? ORDER BY rowid", (r["id"],))
        )
        return DocumentView(
            r["reference"],
            r["exchange_id"],
            r["kind"],
            DocState(r["state"]),
            r["document_id"],
            r["number_symbol"],
            r["dossier_code"],
            r["onestop_number"],
            r["target_account"],
            r["officer"],
            r["arrival_number"],
            r["signer"],
            r["issued_number"],
            r["result_document_id"],
            files,
            events,
        )

    def worklist(self) -> list[DocumentView]:
        """Every document still being worked on (not issued, not taken back), oldest first."""
        rows = self.db.rows(
            "SELECT reference FROM documents WHERE state NOT IN (?, ?) ORDER BY id",
            (DocState.ISSUED.value, DocState.TAKEN_BACK.value),
        )
        return [self.document(r["reference"]) for r in rows]

    def next_number(self, notation: str = "CV_LT_MOTCUA", year: int | None = None) -> str:
        """The next free Số ký hiệu in the outgoing book for ``notation``, e.g. ``23/CV_LT_MOTCUA``."""
        year = year or self.config.clock().year
        rows = self.db.rows(
            "SELECT issued_number FROM documents WHERE issued_number LIKE ? AND substr(issue_date, 1, 4) = ?",
            (f"%/{notation}", str(year)),
        )
        numbers = [int(n) for n in (r["issued_number"].partition("/")[0] for r in rows) if n.isdigit()]
        return f"{max(numbers, default=0) + 1}/{notation}"

    def screens(self) -> dict[str, Any]:
        return {
            "system": f"document management of {self.config.organ_id}",
            "registration_queue": [dataclasses.asdict(r) for r in self.registration_queue()],
            "drafts": [dataclasses.asdict(r) for r in self.drafts()],
            "connector_calls": [dataclasses.asdict(c) for c in self.link.calls()],
        }

    # ---- actions ----------------------------------------------------------------------------
    def register(self, item: str | RegistrationRow) -> ConnectorCall:
        """The clerk registers the document in the incoming book (vào sổ): status 03."""
        now = self.config.clock()
        with self.db.transaction() as conn:
            doc = self._for_action(conn, item, "register", {DocState.AWAITING_REGISTRATION}, kinds={"INCOMING"})
            conn.execute("UPDATE documents SET state = ? WHERE id = ?", (DocState.REGISTERED.value, doc["id"]))
            message_id = self._report(conn, doc, StatusCode.ACCEPTED, doc["target_account"], now)
        return self._sent(message_id)

    def assign(self, item: str | RegistrationRow | DraftRow, officer: str) -> ConnectorCall:
        """Forward to the handling specialist (chuyển xử lý): status 04."""
        self._account(officer)
        now = self.config.clock()
        with self.db.transaction() as conn:
            doc = self._row(_reference_of(item), conn)
            if doc["kind"] == "INCOMING":
                doc = self._for_action(conn, item, "assign", {DocState.REGISTERED, DocState.ASSIGNED})
                conn.execute(
                    "UPDATE documents SET state = ?, officer = ? WHERE id = ?",
                    (DocState.ASSIGNED.value, officer, doc["id"]),
                )
            else:  # an outgoing draft stays in drafts, with another officer
                doc = self._for_action(conn, item, "assign", {DocState.DRAFTING})
                conn.execute("UPDATE documents SET officer = ? WHERE id = ?", (officer, doc["id"]))
            message_id = self._report(
                conn, doc, StatusCode.ASSIGNED, doc["target_account"], now, f"assigned to {officer}"
            )
        return self._sent(message_id)

    def draft_reply(self, item: str | RegistrationRow | DraftRow, return_to_onestop: bool = True) -> ConnectorCall:
        """The specialist drafts the result (Văn bản trả lời → Khởi tạo nhập mới văn bản đi): status 05."""
        now = self.config.clock()
        with self.db.transaction() as conn:
            doc = self._row(_reference_of(item), conn)
            if doc["kind"] == "INCOMING":
                doc = self._for_action(conn, item, "draft a reply to", {DocState.ASSIGNED})
            else:
                doc = self._for_action(conn, item, "draft", {DocState.DRAFTING})
                if conn.execute("SELECT 1 FROM files WHERE document = ? AND role = 'draft'", (doc["id"],)).fetchone():
                    raise ActionRefused(f"{doc['reference']} already has a draft")
            officer = doc["officer"] or doc["target_account"]
            conn.execute(
                "UPDATE documents SET state = ?, officer = ?, draft_abstract = ?, return_to_onestop = ?, "
                "in_progress_reported = 1 WHERE id = ?",
                (DocState.DRAFTING.value, officer, "Kết quả giải quyết TTHC", int(return_to_onestop), doc["id"]),
            )
            draft = File(
                f"DuThao_{doc['dossier_code']}.pdf",
                make_pdf(
                    [
                        "DU THAO - KET QUA GIAI QUYET TTHC",
                        f"Ho so: {doc['dossier_code']}",
                        f"Nguoi soan thao: {officer}",
                    ]
                ),
            )
            self._file(conn, doc["id"], "draft", draft)
            message_id = self._report(conn, doc, StatusCode.IN_PROGRESS, officer, now, "result drafted")
        return self._sent(message_id)

    def sign(self, item: str | DraftRow, leader: str, position: str | None = None) -> ConnectorCall | None:
        """A leader signs the draft (ký số). Reports 05 only if nothing has said "in progress" yet."""
        account = self._account(leader)
        now = self.config.clock()
        message_id = None
        with self.db.transaction() as conn:
            doc = self._for_action(conn, item, "sign", {DocState.DRAFTING})
            conn.execute(
                "UPDATE documents SET state = ?, signer = ?, signer_position = ?, in_progress_reported = 1 "
                "WHERE id = ?",
                (DocState.SIGNED.value, account.full_name or leader, position, doc["id"]),
            )
            if not doc["in_progress_reported"]:
                message_id = self._report(conn, doc, StatusCode.IN_PROGRESS, leader, now, f"signed by {leader}")
            else:
                self._event(conn, doc["id"], now, "local", None, leader, "signed", None)
        return self._sent(message_id) if message_id else None

    def issue(
        self,
        item: str | DraftRow,
        number_symbol: str = "22/CV_LT_MOTCUA",
        issue_date: date | None = None,
        document_identifier: str | None = None,
    ) -> ConnectorCall | None:
        """The clerk numbers and issues (ban hành) the signed result. With *Trả kết quả iGate* set,
        that publishes it to the connector (publishResult), which finishes the exchange; without, the
        result stays local and None is returned."""
        now = self.config.clock()
        issue_date = issue_date or now.date()
        with self.db.transaction() as conn:
            doc = self._for_action(conn, item, "issue", {DocState.SIGNED})
            taken = conn.execute(
                "SELECT reference FROM documents WHERE issued_number = ? AND substr(issue_date, 1, 4) = ?",
                (number_symbol, f"{issue_date:%Y}"),
            ).fetchone()
            if taken:
                raise ActionRefused(
                    f"number {number_symbol} was already issued in {issue_date:%Y} ({taken['reference']})"
                )
            agency = Organization(**json.loads(doc["agency"]))
            issued = Issued(number_symbol, issue_date, doc["signer"], doc["signer_position"], self.config.place)
            result = File(
                f"{number_symbol.replace('/', '_')}.pdf",
                self._result_pdf(doc, agency, issued),
                description="Tệp tin kết quả",
            )
            package = result_package(
                agency,
                Organization(**json.loads(doc["sender"])),
                self._answers(doc),
                issued,
                doc["dossier_code"],
                [result],
                now,
            )
            conn.execute(
                "UPDATE documents SET state = ?, issued_number = ?, issue_date = ?, document_identifier = ?, "
                "result_document_id = ? WHERE id = ?",
                (
                    DocState.ISSUED.value,
                    number_symbol,
                    issue_date.isoformat(),
                    document_identifier,
                    package.document_id,
                    doc["id"],
                ),
            )
            self._file(conn, doc["id"], "issued", result)
            if not doc["return_to_onestop"]:
                self._event(conn, doc["id"], now, "local", None, doc["signer"] or "-", f"issued {number_symbol}", None)
                return None
            arguments = {
                "onestopNumber": doc["onestop_number"] or doc["dossier_code"],
                "issue": {
                    "numberSymbol": number_symbol,
                    "issueDate": issue_date.isoformat(),
                    "signerName": doc["signer"],
                    "signerPosition": doc["signer_position"],
                    "documentIdentifier": document_identifier,
                },
            }
            message_id = self.link.record(conn, "publishResult", signed(package, self.keys.identity), arguments)
            self._event(
                conn,
                doc["id"],
                now,
                "sent",
                None,
                doc["signer"] or "-",
                f"result {number_symbol} issued {issue_date:%Y/%m/%d}",
                message_id,
            )
        return self._sent(message_id)

    def retry(self) -> list[ConnectorCall]:
        """Send whatever is still queued for the connector (it was down, or answered Server.*)."""
        return self.link.flush()

    # ---- internals ----------------------------------------------------------------------------
    def _replay(self, message_id: str, conn: sqlite3.Connection | None = None) -> Acceptance | None:
        sql = "SELECT d.reference FROM received_messages m JOIN documents d ON d.id = m.document WHERE m.message_id = ?"
        row = conn.execute(sql, (message_id,)).fetchone() if conn is not None else self.db.row(sql, (message_id,))
        return Acceptance(row["reference"], duplicate=True) if row else None

    def _received(
        self, conn: sqlite3.Connection, message_id: str, operation: str, document: int, now: datetime
    ) -> None:
        conn.execute(
            "INSERT INTO received_messages VALUES (?, ?, ?, ?)", (message_id, operation, document, now.isoformat())
        )

    def _store(
        self,
        conn: sqlite3.Connection,
        delivery: DocumentDelivery,
        package: DocumentPackage,
        agency: Organization,
        now: datetime,
    ) -> sqlite3.Row:
        incoming = delivery.kind == "INCOMING"
        if incoming:
            # Số đến: the next number in this year's incoming book (restarting every 1 January).
            number = conn.execute(
                "SELECT COALESCE(MAX(arrival_number), 0) + 1 FROM documents WHERE arrival_year = ?", (now.year,)
            ).fetchone()[0]
            reference = f"VBDEN-{now.year}-{number:05d}"
        else:
            number = None
            reference = f"DUTHAO-{conn.execute('SELECT COALESCE(MAX(id), 0) + 1 FROM documents').fetchone()[0]:05d}"
        priority = package.other.priority
        conn.execute(
            "INSERT INTO documents (reference, exchange_id, kind, state, target_account, officer, "
            "document_id, number_symbol, "
            "abstract, dossier_code, onestop_number, procedure_code, procedure_name, officer_opinion, issuer, form, "
            "document_date, urgency, sender, agency, arrival_year, arrival_number, arrival_date, package, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reference,
                delivery.exchangeId,
                delivery.kind,
                (DocState.AWAITING_REGISTRATION if incoming else DocState.DRAFTING).value,
                delivery.targetAccount,
                None if incoming else delivery.targetAccount,
                package.document_id,
                str(package.code) or None,
                package.subject,
                delivery.dossierCode,
                delivery.onestopNumber,
                delivery.procedureCode,
                delivery.procedureName,
                delivery.officerOpinion,
                package.sender.organ_name or package.sender.organ_id,
                package.document_type.type_name,
                package.promulgation.date.isoformat() if package.promulgation.date else None,
                URGENCY_NAMES.get(priority) if priority is not None else None,
                json.dumps(dataclasses.asdict(package.sender), ensure_ascii=False),
                json.dumps(dataclasses.asdict(agency), ensure_ascii=False),
                now.year if incoming else None,
                number,
                now.date().isoformat() if incoming else None,
                delivery.package,
                now.isoformat(),
            ),
        )
        document = conn.execute("SELECT * FROM documents WHERE reference = ?", (reference,)).fetchone()
        for attachment in package.attachments:
            self._file(
                conn, document["id"], "received", File(attachment.name, attachment.data, attachment.content_type)
            )
        return document

    def _file(self, conn: sqlite3.Connection, document: int, role: str, file: File) -> None:
        conn.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?)", (document, role, file.name, file.content_type, file.data)
        )

    def _files(self, document: int, role: str) -> tuple[str, ...]:
        return tuple(
            r["name"]
            for r in self.db.rows(
                "SELECT name FROM files WHERE document = ? AND role = ? ORDER BY rowid", (document, role)
            )
        )

    def _event(
        self,
        conn: sqlite3.Connection,
        document: int,
        at: datetime,
        direction: str,
        code: str | None,
        actor: str,
        note: str,
        message_id: str | None,
    ) -> None:
        conn.execute(
            "INSERT INTO events (document, at, direction, status_code, actor, note, message_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (document, at.isoformat(), direction, code, actor, note, message_id),
        )

    def _answers(self, doc: sqlite3.Row) -> ResponseFor:
        """ResponseFor: the delivered document, as its sender identified it."""
        sender = json.loads(doc["sender"])
        return ResponseFor(sender["organ_id"], doc["number_symbol"], _date(doc["document_date"]), doc["document_id"])

    def _report(
        self,
        conn: sqlite3.Connection,
        doc: sqlite3.Row,
        code: StatusCode,
        actor: str,
        now: datetime,
        note: str | None = None,
    ) -> str:
        account = self._accounts.get(actor)
        staff = StaffInfo(
            ROLE_NAMES.get(account.role) if account else None, (account.full_name if account else None) or actor
        )
        package = status_package(Organization(**json.loads(doc["agency"])), self._answers(doc), code, now, staff, note)
        message_id = self.link.record(conn, "updateStatus", signed(package, self.keys.identity), {})
        self._event(conn, doc["id"], now, "sent", code.value, actor, note or code.label, message_id)
        return message_id

    def _sent(self, message_id: str) -> ConnectorCall:
        self.link.flush()
        return self.link.call(message_id)

    def _row(self, reference: str, conn: sqlite3.Connection | None = None) -> sqlite3.Row:
        sql = "SELECT * FROM documents WHERE reference = ?"
        row = conn.execute(sql, (reference,)).fetchone() if conn is not None else self.db.row(sql, (reference,))
        if row is None:
            raise ActionRefused(f"no document {reference!r}")
        return row

    def _for_action(
        self,
        conn: sqlite3.Connection,
        item: Any,
        action: str,
        states: Iterable[DocState],
        kinds: Sequence[str] = ("INCOMING", "OUTGOING"),
    ) -> sqlite3.Row:
        doc = self._row(_reference_of(item), conn)
        allowed = {s.value for s in states}
        if doc["kind"] not in kinds or doc["state"] not in allowed:
            raise ActionRefused(
                f"cannot {action} {doc['reference']}: it is a {doc['kind']} document in state {doc['state']} "
                f"(needs {' or '.join(sorted(allowed))})"
            )
        return doc

    def _account(self, username: str) -> Account:
        account = self._accounts.get(username)
        if account is None:
            raise ActionRefused(f"no account {username!r} in {self.config.organ_id}")
        return account

    def _result_pdf(self, doc: sqlite3.Row, agency: Organization, issued: Issued) -> bytes:
        return make_pdf(
            [
                (agency.organ_name or agency.organ_id).upper(),
                f"So: {issued.number_symbol}    Ngay {issued.issue_date:%d/%m/%Y}",
                "V/v: Ket qua giai quyet TTHC",
                f"Ho so: {doc['dossier_code']} (so ho so iGate {doc['onestop_number'] or '-'})",
                f"{issued.signer_position or ''} {issued.signer_name}".strip(),
            ]
        )
