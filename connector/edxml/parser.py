"""Read edXML bytes into the package model.

Elements are matched by namespace and local name, in any order. The reader records every
problem it meets as a located ``Issue`` and carries on, so ``validate`` can report them all;
``parse`` raises ``EdxmlError`` with the list when there is any error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from lxml import etree

from connector.edxml import attachments, received
from connector.edxml.issues import EdxmlError, Issue, Severity
from connector.edxml.model import (
    DSIG_NAMESPACE,
    NAMESPACE,
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    Package,
    Priority,
    PromulgationInfo,
    ReplacementInfo,
    ResponseFor,
    SignatureState,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusPackage,
    TraceHeader,
)
from connector.edxml.paths import path_of, q
from connector.edxml.safexml import ParseLimits, parse_xml
from connector.errors import ErrorCode

T = TypeVar("T")


_DATE = re.compile(r"(\d{4})/(\d{2})/(\d{2})")
_TIMESTAMP = re.compile(r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})")


def parse_date(text: str) -> date:
    """yyyy/MM/dd (strptime is 5x slower and this runs on every package)."""
    match = _DATE.fullmatch(text)
    if not match:
        raise ValueError(text)
    return date(*map(int, match.groups()))  # ValueError for 2014/02/30


def parse_timestamp(text: str) -> datetime:
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        raise ValueError(text)
    return datetime(*map(int, match.groups()))


def parse(data: bytes, limits: ParseLimits = ParseLimits()) -> Package:
    """Parse and check a package; raise ``EdxmlError`` listing every error found."""
    package, issues = read(parse_xml(data, limits), limits)
    errors = [i for i in issues if i.severity is Severity.ERROR]
    if errors or package is None:
        raise EdxmlError(errors or issues)
    return package


def read(tree: etree._ElementTree, limits: ParseLimits) -> tuple[Package | None, list[Issue]]:
    """Build the model from a parsed tree; return it (None if unusable) and the issues met."""
    reader = _Reader(tree, limits)
    return reader.package(), reader.issues


class _Reader:
    def __init__(self, tree: etree._ElementTree, limits: ParseLimits) -> None:
        self.root = tree.getroot()
        self.limits = limits
        self.issues: list[Issue] = []
        self._children: dict[etree._Element, dict[object, list[etree._Element]]] = {}

    # ---- recording -------------------------------------------------------------------
    def issue(
        self,
        element: etree._Element | None,
        reason: str,
        code: ErrorCode = ErrorCode.PACKAGE_INVALID,
        severity: Severity = Severity.ERROR,
    ) -> None:
        path = path_of(element) if element is not None else None
        line = element.sourceline if element is not None else None
        self.issues.append(Issue(code, reason, path, line, severity))

    # ---- element access --------------------------------------------------------------
    def all(self, parent: etree._Element, local: str) -> list[etree._Element]:
        """Children by name; each parent is indexed once (60-odd lookups per package)."""
        index = self._children.get(parent)
        if index is None:
            index = {}
            for child in parent:
                index.setdefault(child.tag, []).append(child)
            self._children[parent] = index
        return index.get(q(local), [])

    def one(self, parent: etree._Element, local: str, required: bool = False) -> etree._Element | None:
        found = self.all(parent, local)
        if not found:
            if required:
                self.issue(parent, f"required element {local} is missing")
            return None
        if len(found) > 1:
            self.issue(found[1], f"{local} appears {len(found)} times; at most once is allowed")
        return found[0]

    def text(self, parent: etree._Element | None, local: str, required: bool = False) -> str | None:
        if parent is None:
            return None
        element = self.one(parent, local, required)
        if element is None:
            return None
        value = element.text or ""
        if required and not value.strip():
            self.issue(element, f"{local} is empty")
        return value

    def convert(
        self, parent: etree._Element | None, local: str, convert: Callable[[str], T], expected: str
    ) -> T | None:
        if parent is None:
            return None
        element = self.one(parent, local)
        if element is None or not (element.text or "").strip():
            return None
        try:
            return convert(element.text.strip())
        except ValueError:
            self.issue(element, f"{local} {element.text.strip()!r} is not {expected}")
            return None

    def date(self, parent: etree._Element | None, local: str) -> date | None:
        return self.convert(parent, local, parse_date, "a date yyyy/MM/dd")

    def timestamp(self, parent: etree._Element | None, local: str) -> datetime | None:
        return self.convert(parent, local, parse_timestamp, "a timestamp yyyy/MM/dd HH:mm:ss")

    def integer(self, parent: etree._Element | None, local: str) -> int | None:
        return self.convert(parent, local, int, "an integer")

    # ---- the package -----------------------------------------------------------------
    def package(self) -> Package | None:
        root = self.root
        if root.tag != q("edXML"):
            qname = etree.QName(root)
            where = f"namespace {qname.namespace!r}" if qname.namespace else "no namespace"
            self.issue(
                root,
                f"root element is {qname.localname!r} in {where}; expected edXML in {NAMESPACE!r}",
                ErrorCode.NOT_EDXML,
            )
            return None
        envelope = self.one(root, "edXMLEnvelope")
        header = self.one(envelope, "edXMLHeader") if envelope is not None else None
        message = self.one(header, "MessageHeader") if header is not None else None
        if message is None:
            self.issue(root, "no edXMLEnvelope/edXMLHeader/MessageHeader: not an edXML package", ErrorCode.NOT_EDXML)
            return None
        markup = received.header_markup(header)  # comments survive in trees parsed from the received bytes
        if markup is not None:
            self.issues.append(markup)
        signature = self.signature_state(header)
        if self.all(message, "StatusCode"):
            return self.status(message, signature)
        return self.document(root, envelope, header, message, signature)

    def signature_state(self, header: etree._Element) -> SignatureState:
        if header.find(f"{{{DSIG_NAMESPACE}}}Signature") is not None:
            return SignatureState.XMLDSIG
        if header.find(q("Signature")) is not None:
            return SignatureState.PLACEHOLDER
        return SignatureState.ABSENT

    def organization(self, element: etree._Element) -> Organization:
        return Organization(
            organ_id=self.text(element, "OrganId", required=True) or "",
            organ_name=self.text(element, "OrganName"),
            organization_in_charge=self.text(element, "OrganizationInCharge"),
            organ_add=self.text(element, "OrganAdd"),
            email=self.text(element, "Email"),
            telephone=self.text(element, "Telephone"),
            fax=self.text(element, "Fax"),
            website=self.text(element, "Website"),
        )

    def response_for(self, element: etree._Element) -> ResponseFor:
        return ResponseFor(
            organ_id=self.text(element, "OrganId"),
            code=self.text(element, "Code"),
            promulgation_date=self.date(element, "PromulgationDate"),
            document_id=self.text(element, "DocumentId"),
        )

    def staff(self, element: etree._Element) -> StaffInfo:
        return StaffInfo(
            department=self.text(element, "Department"),
            staff=self.text(element, "Staff"),
            email=self.text(element, "Email"),
            mobile=self.text(element, "Mobile"),
        )

    def status(self, message: etree._Element, signature: SignatureState) -> StatusPackage | None:
        sender = self.one(message, "From", required=True)
        response_for = self.one(message, "ResponseFor", required=True)
        code_element = self.one(message, "StatusCode")
        timestamp = self.timestamp(message, "Timestamp")
        if not self.all(message, "Timestamp"):
            self.issue(message, "required element Timestamp is missing")
        staff = self.one(message, "StaffInfo")
        code_text = (code_element.text or "").strip() if code_element is not None else ""
        try:
            code = StatusCode(code_text)
        except ValueError:
            self.issue(code_element, f"StatusCode {code_text!r} is undefined (defined: 01–06, 13, 15, 16)")
            code = None
        if sender is None or response_for is None or code is None or timestamp is None:
            return None
        return StatusPackage(
            sender=self.organization(sender),
            response_for=self.response_for(response_for),
            status_code=code,
            timestamp=timestamp,
            staff=self.staff(staff) if staff is not None else None,
            description=self.text(message, "Description"),
            signature=signature,
        )

    def document(
        self,
        root: etree._Element,
        envelope: etree._Element,
        header: etree._Element,
        message: etree._Element,
        signature: SignatureState,
    ) -> DocumentPackage | None:
        sender = self.one(message, "From", required=True)
        recipients = self.all(message, "To")
        if not recipients:
            self.issue(message, "required element To is missing (at least one recipient)")
        code = self.one(message, "Code")
        promulgation = self.one(message, "PromulgationInfo")
        doc_type = self.one(message, "DocumentType")
        signer = self.one(message, "SignerInfo")
        other = self.one(message, "OtherInfo")
        to_places = self.one(message, "ToPlaces")
        package = DocumentPackage(
            sender=self.organization(sender) if sender is not None else Organization(""),
            recipients=[self.organization(r) for r in recipients],
            document_id=self.text(message, "DocumentId", required=True) or "",
            subject=self.text(message, "Subject", required=True) or "",
            code=Code(self.text(code, "CodeNumber"), self.text(code, "CodeNotation")),
            promulgation=PromulgationInfo(
                self.text(promulgation, "Place"), self.date(promulgation, "PromulgationDate")
            ),
            document_type=DocumentType(
                self.integer(doc_type, "Type"),
                self.integer(doc_type, "TypeDetail"),
                self.text(doc_type, "TypeName"),
            ),
            content=self.text(message, "Content"),
            signer=SignerInfo(
                self.text(signer, "Competence"), self.text(signer, "Position"), self.text(signer, "FullName")
            )
            if signer is not None
            else None,
            due_date=self.date(message, "DueDate"),
            other=self.other_info(other) if other is not None else OtherInfo(),
            response_for=[
                self.response_for(r) for r in self.all(message, "ResponseFor") if len(r) or (r.text or "").strip()
            ],
            steering_type=self.integer(message, "SteeringType"),
            to_places=[p.text or "" for p in self.all(to_places, "Place")] if to_places is not None else [],
            signature=signature,
        )
        traces = self.one(header, "TraceHeaderList")
        if traces is not None:
            package.traces = [
                TraceHeader(self.text(t, "OrganId"), self.timestamp(t, "Timestamp"))
                for t in self.all(traces, "TraceHeader")
            ]
            business = self.one(traces, "Bussiness")
            if business is not None:
                package.business = self.business(business)
        package.attachments = self.attachments(root, envelope)
        return package if sender is not None and recipients else None

    def other_info(self, element: etree._Element) -> OtherInfo:
        priority = self.integer(element, "Priority")
        if priority is not None and priority not in Priority._value2member_map_:
            self.issue(element.find(q("Priority")), f"Priority {priority} is undefined (0–4)")
            priority = None
        direction = self.text(element, "Direction")
        appendixes = element.find(q("Appendixes"))
        return OtherInfo(
            priority=Priority(priority) if priority is not None else None,
            sphere_of_promulgation=self.text(element, "SphereOfPromulgation"),
            typer_notation=self.text(element, "TyperNotation"),
            promulgation_amount=self.integer(element, "PromulgationAmount"),
            page_amount=self.integer(element, "PageAmount"),
            direction=None if direction is None else direction.strip().lower() in ("true", "1"),
            appendixes=[a.text or "" for a in self.all(appendixes, "Appendix")] if appendixes is not None else [],
        )

    def business(self, element: etree._Element) -> Business:
        doc_type = self.integer(element, "BussinessDocType")
        if doc_type is not None and doc_type not in BusinessDocType._value2member_map_:
            self.issue(element.find(q("BussinessDocType")), f"BussinessDocType {doc_type} is undefined (0–3)")
            doc_type = None
        return Business(
            doc_type=BusinessDocType(doc_type or 0),
            reason=self.text(element, "BussinessDocReason"),
            document_id=self.text(element, "DocumentId"),
            paper=self.integer(element, "Paper"),
            staff=[self.staff(s) for s in self.all(element, "StaffInfo")],
            replacements=self.replacements(self.one(element, "ReplacementInfoList")),
        )

    def replacements(self, element: etree._Element | None) -> list[ReplacementInfo]:
        if element is None:
            return []
        found = []
        for info in self.all(element, "ReplacementInfo"):
            organs = self.one(info, "OrganIdList")
            organ_ids = [(o.text or "").strip() for o in self.all(organs, "OrganId")] if organs is not None else []
            found.append(ReplacementInfo((self.text(info, "DocumentId", required=True) or "").strip(), organ_ids))
        return found

    def attachments(self, root: etree._Element, envelope: etree._Element) -> list[Attachment]:
        body = self.one(envelope, "edXMLBody")
        manifest = self.one(body, "edXMLManifest") if body is not None else None
        references = self.all(manifest, "Reference") if manifest is not None else []
        encoded = self.one(root, "AttachmentEncoded")
        elements = self.all(encoded, "Attachment") if encoded is not None else []
        if len(elements) > self.limits.max_attachments:
            self.issue(
                encoded,
                f"{len(elements)} attachments; the limit is {self.limits.max_attachments}",
                ErrorCode.ATTACHMENT_INVALID,
            )
            return []

        manifest_ids: dict[str, etree._Element] = {}
        for ref in references:
            cid = (self.text(ref, "ContentId", required=True) or "").strip()
            if cid in manifest_ids:
                self.issue(ref, f"duplicate ContentId {cid!r} in the manifest", ErrorCode.MANIFEST_MISMATCH)
            manifest_ids[cid] = ref

        result: list[Attachment] = []
        seen: set[str] = set()
        total = 0
        for element in elements:
            cid = (self.text(element, "ContentId", required=True) or "").strip()
            name = self.text(element, "AttachmentName") or ""
            if cid in seen:
                self.issue(element, f"duplicate ContentId {cid!r} in AttachmentEncoded", ErrorCode.MANIFEST_MISMATCH)
                continue
            seen.add(cid)
            reference = manifest_ids.get(cid)
            if reference is None:
                self.issue(element, f"attachment {cid!r} is not listed in edXMLManifest", ErrorCode.MANIFEST_MISMATCH)
            if not name and reference is not None:
                name = self.text(reference, "AttachmentName") or ""
            reason = attachments.unsafe_name_reason(name)
            if reason:
                name_element = element.find(q("AttachmentName"))
                self.issue(
                    element if name_element is None else name_element,
                    f"AttachmentName {name!r} {reason}",
                    ErrorCode.ATTACHMENT_INVALID,
                )
                continue
            body_element = self.one(element, "ContentTransferEncoded", required=True)
            if body_element is None:
                continue
            try:
                data, encoding = attachments.decode(body_element, name, self.limits)
            except EdxmlError as exc:
                self.issues.extend(exc.issues)
                continue
            total += len(data)
            if total > self.limits.max_total_attachment_bytes:
                self.issue(
                    element,
                    f"attachments total more than {self.limits.max_total_attachment_bytes:,} bytes",
                    ErrorCode.ATTACHMENT_INVALID,
                )
                return result
            # The manifest's ContentType names the file; the Attachment's may say application/zip.
            content_type = (self.text(reference, "ContentType") if reference is not None else None) or self.text(
                element, "ContentType"
            )
            result.append(
                Attachment(
                    content_id=cid,
                    name=name,
                    data=data,
                    content_type=content_type or "application/octet-stream",
                    description=self.text(element, "Description")
                    or (self.text(reference, "Description") if reference is not None else None),
                    encoding=encoding,
                )
            )
        for cid, ref in manifest_ids.items():
            if cid not in seen:
                self.issue(ref, f"manifest lists {cid!r} but no attachment carries it", ErrorCode.MANIFEST_MISMATCH)
        return result
