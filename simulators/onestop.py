"""The one-stop simulator (một cửa điện tử, e.g. iGate), following the guide.

A dossier is received (step 1), then sent to the agency at the configured step with the
"Văn bản liên thông eOffice" form (step 2): the simulator builds an edXML package of the chosen
files, signs it with the one-stop's key and calls the connector's ``sendDocument``. The agency's
statuses arrive by ``deliverStatus`` and go on the dossier's timeline; the issued result arrives by
``deliverResult`` and becomes the dossier's result file (Tệp tin kết quả), finishing it.
``take_back`` withdraws a sent document (status 13), which the connector relays to the agency.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from connector.edxml import DocumentPackage, Organization, ResponseFor, StaffInfo, StatusCode
from connector.exchange.states import STATE_OF_CODE
from connector.soap.partner_contracts import OnestopStatusDelivery, ResultDelivery
from simulators import guide
from simulators.db import Database
from simulators.errors import ActionRefused
from simulators.http import ENVELOPE_PARSE_LIMITS, SoapEndpoint
from simulators.link import CALLS_SCHEMA, ConnectorCall, ConnectorEndpoint, ConnectorLink
from simulators.packages import File, Sending, send_package, signed, status_package
from simulators.partner_service import Acceptance, PartnerRejection, build_onestop_application
from simulators.trust import SimulatorKeys

DossierFile = File  # a component file (thành phần hồ sơ) chosen in the sending form


@dataclass(frozen=True)
class OnestopConfig:
    db_path: Path
    organization: Organization  # this one-stop centre: the From of what it sends
    keys_dir: Path  # development key set: the one-stop's signing identity and the CA it trusts
    connector: ConnectorEndpoint = ConnectorEndpoint()
    place: str = "Hưng Yên"
    clock: Callable[[], datetime] = field(default=datetime.now, compare=False)


@dataclass(frozen=True)
class Dossier:
    """A dossier (hồ sơ) as received at the counter or online."""

    code: str  # e.g. Bo_Thu_Tuc_Cap_Huyen-221126-0003
    onestop_number: str  # the one-stop's own number, e.g. 1948087
    procedure_code: str
    procedure_name: str
    applicant: str
    agency: Organization  # who handles the procedure (cơ quan thực hiện)
    received_at: datetime
    due_date: date | None = None


@dataclass(frozen=True)
class ResultFile:
    name: str
    content_type: str
    size: int
    number_symbol: str
    issue_date: date
    signer_name: str | None
    signer_position: str | None
    document_identifier: str | None
    document_id: str


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    status_code: str | None
    state: str  # the dossier's interconnection state after this entry
    note: str


@dataclass(frozen=True)
class Sent:
    """One "Gửi văn bản" of the form: the document sent and the connector call that carried it."""

    message_id: str  # also the connector's exchange id
    document_id: str
    call: ConnectorCall


@dataclass(frozen=True)
class DossierView:
    code: str
    onestop_number: str
    procedure_code: str
    procedure_name: str
    applicant: str
    agency_id: str
    state: str  # received | sent | arrived | registered | assigned | in_progress | finished | refused | taken_back
    sent: tuple[str, ...]  # DocumentIds sent for it
    result_files: tuple[ResultFile, ...]  # Tệp tin kết quả
    timeline: tuple[TimelineEntry, ...]


SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS dossiers (
    code TEXT PRIMARY KEY,
    onestop_number TEXT NOT NULL UNIQUE,
    procedure_code TEXT NOT NULL,
    procedure_name TEXT NOT NULL,
    applicant TEXT NOT NULL,
    agency TEXT NOT NULL,                -- JSON Organization
    received_at TEXT NOT NULL,
    due_date TEXT,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sent_documents (
    message_id TEXT PRIMARY KEY,         -- sendDocument's message id = the connector's exchange id
    dossier TEXT NOT NULL REFERENCES dossiers(code),
    document_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    username TEXT NOT NULL,
    number_symbol TEXT NOT NULL,
    promulgation_date TEXT NOT NULL,
    taken_back INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS result_files (
    id INTEGER PRIMARY KEY,
    dossier TEXT NOT NULL REFERENCES dossiers(code),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL,
    number_symbol TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    signer_name TEXT,
    signer_position TEXT,
    document_identifier TEXT,
    document_id TEXT NOT NULL,
    package BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS timeline (
    id INTEGER PRIMARY KEY,
    dossier TEXT NOT NULL REFERENCES dossiers(code),
    at TEXT NOT NULL,
    status_code TEXT,
    state TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS received_messages (
    message_id TEXT PRIMARY KEY,         -- the connector's message id: the de-duplication key
    operation TEXT NOT NULL,
    reference TEXT NOT NULL,
    received_at TEXT NOT NULL
);
"""
    + CALLS_SCHEMA
)


def _code_of(dossier: str | Dossier | DossierView) -> str:
    return dossier if isinstance(dossier, str) else dossier.code


class OnestopSimulator:
    def __init__(self, config: OnestopConfig) -> None:
        self.config = config
        org = config.organization
        self.keys = SimulatorKeys.development(config.keys_dir, org.organ_id, org.organ_name or org.organ_id)
        self.db = Database(config.db_path, SCHEMA)
        self.link = ConnectorLink(config.connector, self.db)

    def close(self) -> None:
        self.db.close()

    def wsgi_app(self, address: str) -> SoapEndpoint:
        return SoapEndpoint(
            build_onestop_application(self, ENVELOPE_PARSE_LIMITS), address, self.screens, actions=self.act
        )

    # ---- actions ----------------------------------------------------------------------------
    def receive(self, dossier: Dossier) -> DossierView:
        """Step 1, reception (tiếp nhận). Receiving the same dossier again changes nothing."""
        with self.db.transaction() as conn:
            known = conn.execute("SELECT onestop_number FROM dossiers WHERE code = ?", (dossier.code,)).fetchone()
            if known is None:
                conn.execute(
                    "INSERT INTO dossiers VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'received')",
                    (
                        dossier.code,
                        dossier.onestop_number,
                        dossier.procedure_code,
                        dossier.procedure_name,
                        dossier.applicant,
                        json.dumps(dataclasses.asdict(dossier.agency), ensure_ascii=False),
                        dossier.received_at.isoformat(),
                        dossier.due_date.isoformat() if dossier.due_date else None,
                    ),
                )
                self._entry(conn, dossier.code, self.config.clock(), None, "received", "dossier received")
            elif known["onestop_number"] != dossier.onestop_number:
                raise ActionRefused(f"dossier {dossier.code} already exists with number {known['onestop_number']}")
        return self.dossier(dossier.code)

    def send_dossier(
        self,
        dossier: str | Dossier,
        kind: str,
        username: str,
        files: Sequence[DossierFile],
        number_symbol: str = "02/LT_iGate",
        opinion: str | None = None,
    ) -> Sent:
        """Step 2, "Văn bản liên thông eOffice" → "Gửi văn bản": INCOMING lands in the agency clerk's
        registration queue, OUTGOING in the drafts of the officer with the same username."""
        if kind not in ("INCOMING", "OUTGOING"):
            raise ActionRefused(f"kind must be INCOMING (Văn bản đến) or OUTGOING (Văn bản đi), not {kind!r}")
        if not files:
            raise ActionRefused("choose at least one file to send")
        if isinstance(dossier, Dossier):
            self.receive(dossier)
        code = _code_of(dossier)
        now = self.config.clock()
        with self.db.transaction() as conn:
            row = self._dossier_row(conn, code)
            if row["state"] == "finished":
                raise ActionRefused(f"dossier {code} already has its result")
            due = date.fromisoformat(row["due_date"]) if row["due_date"] else None
            sending = Sending(
                code,
                number_symbol,
                f"Hồ sơ {row['procedure_name']} của công dân {row['applicant']}",
                username,
                self.config.place,
                due,
            )
            package = send_package(
                self.config.organization, Organization(**json.loads(row["agency"])), sending, files, now
            )
            arguments = {
                "kind": kind,
                "senderUsername": username,
                "dossier": {
                    "dossierCode": code,
                    "procedureCode": row["procedure_code"],
                    "onestopNumber": row["onestop_number"],
                    "procedureName": row["procedure_name"],
                    "applicant": row["applicant"],
                    "receivedAt": row["received_at"],
                    "dueDate": row["due_date"],
                    "officerOpinion": opinion,
                },
            }
            message_id = self.link.record(conn, "sendDocument", signed(package, self.keys.identity), arguments)
            conn.execute(
                "INSERT INTO sent_documents VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                (message_id, code, package.document_id, kind, username, number_symbol, now.date().isoformat()),
            )
            conn.execute("UPDATE dossiers SET state = 'sent' WHERE code = ?", (code,))
            self._entry(
                conn, code, now, None, "sent", f"sent {number_symbol} to {package.recipients[0].organ_id} as {kind}"
            )
        self.link.flush()
        return Sent(message_id, package.document_id, self.link.call(message_id))

    def take_back(self, dossier: str | Dossier, reason: str = "Lấy lại hồ sơ") -> ConnectorCall:
        """Withdraw the last document sent for the dossier (status 13, lấy lại)."""
        code = _code_of(dossier)
        now = self.config.clock()
        with self.db.transaction() as conn:
            sent = conn.execute(
                "SELECT * FROM sent_documents WHERE dossier = ? AND taken_back = 0 ORDER BY rowid DESC", (code,)
            ).fetchone()
            if sent is None:
                raise ActionRefused(f"nothing sent for dossier {code} to take back")
            org = self.config.organization
            answers = ResponseFor(
                org.organ_id, sent["number_symbol"], date.fromisoformat(sent["promulgation_date"]), sent["document_id"]
            )
            package = status_package(
                org, answers, StatusCode.TAKEN_BACK, now, StaffInfo("Một cửa", sent["username"]), reason
            )
            message_id = self.link.record(conn, "updateStatus", signed(package, self.keys.identity), {})
            conn.execute("UPDATE sent_documents SET taken_back = 1 WHERE message_id = ?", (sent["message_id"],))
            conn.execute("UPDATE dossiers SET state = 'taken_back' WHERE code = ?", (code,))
            self._entry(conn, code, now, StatusCode.TAKEN_BACK.value, "taken_back", reason)
        self.link.flush()
        return self.link.call(message_id)

    def act(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The counter's buttons for another process (``POST /actions/receive|send|take_back``): ``send``
        receives the guide's dossier under the given ``code`` and ``onestop_number`` and sends its
        file (``file_padding`` bytes larger, for load tests) as ``kind`` from ``username``."""
        if action == "send":
            dossier = dataclasses.replace(guide_dossier(), code=fields["code"], onestop_number=fields["onestop_number"])
            username = fields.get("username", "cbtiepnhan")
            pdf = guide.dossier_pdf(
                guide.Dossier(dossier.code, dossier.onestop_number, dossier.applicant, username),
                int(fields.get("file_padding", 0)),
            )
            files = [DossierFile("DM_1669450153.pdf", pdf, description="Thành phần hồ sơ")]
            sent = self.send_dossier(dossier, fields.get("kind", "INCOMING"), username, files)
            return {"message_id": sent.message_id, "document_id": sent.document_id} | _outcome(sent.call)
        if action == "receive":
            dossier = dataclasses.replace(guide_dossier(), code=fields["code"], onestop_number=fields["onestop_number"])
            return {"code": self.receive(dossier).code}
        if action == "take_back":
            return {"message_id": (call := self.take_back(fields["code"])).message_id} | _outcome(call)
        raise ActionRefused(f"no action {action!r}: receive, send or take_back")

    def retry(self) -> list[ConnectorCall]:
        return self.link.flush()

    # ---- SOAP: what the connector delivers --------------------------------------------------
    def deliver_result(self, delivery: ResultDelivery) -> Acceptance:
        replay = self._replay(delivery.messageId)
        if replay:
            return replay
        package = self.keys.read(delivery.package)
        if not isinstance(package, DocumentPackage):
            raise PartnerRejection("deliverResult needs a document package with the result file")
        if not package.attachments:
            raise PartnerRejection("the result package carries no file")
        if str(package.code) != delivery.numberSymbol:
            raise PartnerRejection(
                f"numberSymbol {delivery.numberSymbol!r} differs from the package Code {str(package.code)!r}"
            )
        now = self.config.clock()
        with self.db.transaction() as conn:
            replay = self._replay(delivery.messageId, conn)
            if replay:
                return replay
            row = self._delivered_dossier(conn, delivery.dossierCode, delivery.onestopNumber)
            for attachment in package.attachments:
                conn.execute(
                    "INSERT INTO result_files (dossier, name, content_type, data, number_symbol, "
                    "issue_date, signer_name, "
                    "signer_position, document_identifier, document_id, package) VALUES (?, ?, ?, "
                    "?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row["code"],
                        attachment.name,
                        attachment.content_type,
                        attachment.data,
                        delivery.numberSymbol,
                        delivery.issueDate.isoformat(),
                        delivery.signerName,
                        delivery.signerPosition,
                        delivery.documentIdentifier,
                        package.document_id,
                        delivery.package,
                    ),
                )
            conn.execute("UPDATE dossiers SET state = 'finished' WHERE code = ?", (row["code"],))
            self._entry(
                conn,
                row["code"],
                now,
                StatusCode.FINISHED.value,
                "finished",
                f"result {delivery.numberSymbol} issued {delivery.issueDate:%Y/%m/%d} by {package.sender.organ_id}",
            )
            reference = f"HS{row['onestop_number']}/KQ/{delivery.numberSymbol}"
            self._received(conn, delivery.messageId, "deliverResult", reference, now)
        return Acceptance(reference)

    def deliver_status(self, delivery: OnestopStatusDelivery) -> Acceptance:
        replay = self._replay(delivery.messageId)
        if replay:
            return replay
        package = self.keys.read_status(delivery.package, delivery.statusCode)
        now = self.config.clock()
        with self.db.transaction() as conn:
            replay = self._replay(delivery.messageId, conn)
            if replay:
                return replay
            row = self._delivered_dossier(conn, delivery.dossierCode, delivery.onestopNumber)
            state = row["state"]
            new_state = STATE_OF_CODE.get(package.status_code)
            if new_state is not None and state not in ("finished", "taken_back"):
                state = new_state.value
                conn.execute("UPDATE dossiers SET state = ? WHERE code = ?", (state, row["code"]))
            staff = package.staff.staff if package.staff and package.staff.staff else "-"
            entry = self._entry(
                conn,
                row["code"],
                now,
                package.status_code.value,
                state,
                f"{package.description or package.status_code.label} ({package.sender.organ_id}/{staff})",
            )
            reference = f"HS{row['onestop_number']}/TT/{entry}"
            self._received(conn, delivery.messageId, "deliverStatus", reference, now)
        return Acceptance(reference)

    # ---- screens ----------------------------------------------------------------------------
    def dossier(self, dossier: str | Dossier) -> DossierView:
        """The dossier screen: its state, result files (Tệp tin kết quả) and status timeline."""
        row = self.db.row("SELECT * FROM dossiers WHERE code = ?", (_code_of(dossier),))
        if row is None:
            raise ActionRefused(f"no dossier {_code_of(dossier)!r}")
        code = row["code"]
        files = tuple(
            ResultFile(
                r["name"],
                r["content_type"],
                r["size"],
                r["number_symbol"],
                date.fromisoformat(r["issue_date"]),
                r["signer_name"],
                r["signer_position"],
                r["document_identifier"],
                r["document_id"],
            )
            for r in self.db.rows(
                "SELECT *, length(data) AS size FROM result_files WHERE dossier = ? ORDER BY id", (code,)
            )
        )
        timeline = tuple(
            TimelineEntry(datetime.fromisoformat(r["at"]), r["status_code"], r["state"], r["note"])
            for r in self.db.rows("SELECT * FROM timeline WHERE dossier = ? ORDER BY id", (code,))
        )
        sent = tuple(
            r["document_id"]
            for r in self.db.rows("SELECT document_id FROM sent_documents WHERE dossier = ? ORDER BY rowid", (code,))
        )
        agency = json.loads(row["agency"])
        return DossierView(
            code,
            row["onestop_number"],
            row["procedure_code"],
            row["procedure_name"],
            row["applicant"],
            agency["organ_id"],
            row["state"],
            sent,
            files,
            timeline,
        )

    def result_file(self, dossier: str | Dossier, name: str) -> bytes:
        row = self.db.row(
            "SELECT data FROM result_files WHERE dossier = ? AND name = ? ORDER BY id DESC", (_code_of(dossier), name)
        )
        if row is None:
            raise ActionRefused(f"dossier {_code_of(dossier)} has no result file {name!r}")
        return row["data"]

    def screens(self) -> dict[str, Any]:
        codes = [r["code"] for r in self.db.rows("SELECT code FROM dossiers ORDER BY rowid")]
        return {
            "system": f"one-stop {self.config.organization.organ_id}",
            "dossiers": [dataclasses.asdict(self.dossier(code)) for code in codes],
            "connector_calls": [dataclasses.asdict(c) for c in self.link.calls()],
        }

    # ---- internals ----------------------------------------------------------------------------
    def _replay(self, message_id: str, conn: sqlite3.Connection | None = None) -> Acceptance | None:
        sql = "SELECT reference FROM received_messages WHERE message_id = ?"
        row = conn.execute(sql, (message_id,)).fetchone() if conn is not None else self.db.row(sql, (message_id,))
        return Acceptance(row["reference"], duplicate=True) if row else None

    def _received(
        self, conn: sqlite3.Connection, message_id: str, operation: str, reference: str, now: datetime
    ) -> None:
        conn.execute(
            "INSERT INTO received_messages VALUES (?, ?, ?, ?)", (message_id, operation, reference, now.isoformat())
        )

    def _dossier_row(self, conn: sqlite3.Connection, code: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM dossiers WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise ActionRefused(f"no dossier {code!r}: receive it first")
        return row

    def _delivered_dossier(self, conn: sqlite3.Connection, code: str, onestop_number: str | None) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM dossiers WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise PartnerRejection(f"no dossier {code!r} in this one-stop system")
        if onestop_number and onestop_number != row["onestop_number"]:
            raise PartnerRejection(f"dossier {code} has number {row['onestop_number']}, not {onestop_number!r}")
        return row

    def _entry(
        self, conn: sqlite3.Connection, code: str, at: datetime, status_code: str | None, state: str, note: str
    ) -> int:
        cursor = conn.execute(
            "INSERT INTO timeline (dossier, at, status_code, state, note) VALUES (?, ?, ?, ?, ?)",
            (code, at.isoformat(), status_code, state, note),
        )
        return int(cursor.lastrowid or 0)


def _outcome(call: ConnectorCall) -> dict[str, Any]:
    return {"outcome": call.outcome.value, "state": call.state, "error": call.error}


def guide_dossier(n: int = 3) -> Dossier:
    """The guide's dossier Bo_Thu_Tuc_Cap_Huyen-221126-000n (copy from the original register);
    n = 3 is the guide's own, one-stop number 1948087. Used by the demo and the tests."""
    return Dossier(
        code=f"Bo_Thu_Tuc_Cap_Huyen-221126-{n:04d}",
        onestop_number=str(1948084 + n),
        procedure_code=guide.PROCEDURE_CODE,
        procedure_name=guide.PROCEDURE_NAME,
        applicant="Nguyễn Văn An",
        agency=guide.AGENCY,
        received_at=guide.RECEIVED_AT,
        due_date=date(2022, 11, 26),
    )


def guide_files() -> list[DossierFile]:
    """The component file the guide's officer ticks in the sending form."""
    return [DossierFile("DM_1669450153.pdf", guide.dossier_pdf(), description="Thành phần hồ sơ")]
