"""Write the package model as canonical edXML: the SDK's element order, ``yyyy/MM/dd`` dates,
attachments zip+base64 unless an attachment asks for raw base64."""

from __future__ import annotations

from datetime import date, datetime

from lxml import etree

from connector.edxml import attachments
from connector.edxml.model import (
    NAMESPACE,
    DocumentPackage,
    Organization,
    Package,
    ResponseFor,
    StaffInfo,
    StatusPackage,
)
from connector.edxml.paths import DATE_FORMAT, TIMESTAMP_FORMAT, q

_NSMAP = {"edXML": NAMESPACE}


def build(package: Package) -> bytes:
    root = etree.Element(q("edXML"), nsmap=_NSMAP)
    envelope = etree.SubElement(root, q("edXMLEnvelope"))
    header = etree.SubElement(envelope, q("edXMLHeader"))
    message = etree.SubElement(header, q("MessageHeader"))
    if isinstance(package, StatusPackage):
        _status(message, package)
    else:
        _document(root, envelope, header, message, package)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _add(parent: etree._Element, local: str, value: object) -> etree._Element | None:
    """Append <local>value</local>; skip None so absent stays absent."""
    if value is None:
        return None
    element = etree.SubElement(parent, q(local))
    if isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, datetime):
        element.text = value.strftime(TIMESTAMP_FORMAT)
    elif isinstance(value, date):
        element.text = value.strftime(DATE_FORMAT)
    elif isinstance(value, int):  # IntEnum included
        element.text = str(int(value))
    else:
        element.text = str(value)
    return element


def _organization(parent: etree._Element, local: str, org: Organization) -> None:
    element = etree.SubElement(parent, q(local))
    _add(element, "OrganId", org.organ_id)
    _add(element, "OrganizationInCharge", org.organization_in_charge)
    _add(element, "OrganName", org.organ_name)
    _add(element, "OrganAdd", org.organ_add)
    _add(element, "Email", org.email)
    _add(element, "Telephone", org.telephone)
    _add(element, "Fax", org.fax)
    _add(element, "Website", org.website)


def _response_for(parent: etree._Element, rf: ResponseFor) -> None:
    element = etree.SubElement(parent, q("ResponseFor"))
    _add(element, "OrganId", rf.organ_id)
    _add(element, "Code", rf.code)
    _add(element, "PromulgationDate", rf.promulgation_date)
    _add(element, "DocumentId", rf.document_id)


def _staff(parent: etree._Element, staff: StaffInfo) -> None:
    element = etree.SubElement(parent, q("StaffInfo"))
    _add(element, "Department", staff.department)
    _add(element, "Staff", staff.staff)
    _add(element, "Email", staff.email)
    _add(element, "Mobile", staff.mobile)


def _status(message: etree._Element, package: StatusPackage) -> None:
    _organization(message, "From", package.sender)
    _response_for(message, package.response_for)
    if package.staff is not None:
        _staff(message, package.staff)
    _add(message, "StatusCode", package.status_code.value)
    _add(message, "Description", package.description)
    _add(message, "Timestamp", package.timestamp)


def _document(
    root: etree._Element,
    envelope: etree._Element,
    header: etree._Element,
    message: etree._Element,
    package: DocumentPackage,
) -> None:
    _organization(message, "From", package.sender)
    for recipient in package.recipients:
        _organization(message, "To", recipient)
    _add(message, "DocumentId", package.document_id)
    code = etree.SubElement(message, q("Code"))
    _add(code, "CodeNumber", package.code.number)
    _add(code, "CodeNotation", package.code.notation)
    promulgation = etree.SubElement(message, q("PromulgationInfo"))
    _add(promulgation, "Place", package.promulgation.place)
    _add(promulgation, "PromulgationDate", package.promulgation.date)
    doc_type = etree.SubElement(message, q("DocumentType"))
    _add(doc_type, "Type", package.document_type.type)
    _add(doc_type, "TypeDetail", package.document_type.type_detail)
    _add(doc_type, "TypeName", package.document_type.type_name)
    _add(message, "Subject", package.subject)
    _add(message, "Content", package.content)
    if package.signer is not None:
        signer = etree.SubElement(message, q("SignerInfo"))
        _add(signer, "Competence", package.signer.competence)
        _add(signer, "Position", package.signer.position)
        _add(signer, "FullName", package.signer.full_name)
    _add(message, "DueDate", package.due_date)
    other = etree.SubElement(message, q("OtherInfo"))
    _add(other, "Priority", package.other.priority)
    _add(other, "SphereOfPromulgation", package.other.sphere_of_promulgation)
    _add(other, "TyperNotation", package.other.typer_notation)
    _add(other, "PromulgationAmount", package.other.promulgation_amount)
    _add(other, "PageAmount", package.other.page_amount)
    _add(other, "Direction", package.other.direction)
    if package.other.appendixes:
        appendixes = etree.SubElement(other, q("Appendixes"))
        for appendix in package.other.appendixes:
            _add(appendixes, "Appendix", appendix)
    for rf in package.response_for:
        _response_for(message, rf)
    _add(message, "SteeringType", package.steering_type)
    if package.to_places:
        places = etree.SubElement(message, q("ToPlaces"))
        for place in package.to_places:
            _add(places, "Place", place)

    if package.traces or package.business is not None:
        traces = etree.SubElement(header, q("TraceHeaderList"))
        for trace in package.traces:
            element = etree.SubElement(traces, q("TraceHeader"))
            _add(element, "OrganId", trace.organ_id)
            _add(element, "Timestamp", trace.timestamp)
        if package.business is not None:
            business = etree.SubElement(traces, q("Bussiness"))
            _add(business, "BussinessDocType", package.business.doc_type)
            _add(business, "BussinessDocReason", package.business.reason)
            _add(business, "DocumentId", package.business.document_id)
            _add(business, "Paper", package.business.paper)
            if package.business.replacements:
                replaced = etree.SubElement(business, q("ReplacementInfoList"))
                for info in package.business.replacements:
                    element = etree.SubElement(replaced, q("ReplacementInfo"))
                    _add(element, "DocumentId", info.document_id)
                    organs = etree.SubElement(element, q("OrganIdList"))
                    for organ_id in info.organ_ids:
                        _add(organs, "OrganId", organ_id)
            for staff in package.business.staff:
                _staff(business, staff)

    body = etree.SubElement(envelope, q("edXMLBody"))
    manifest = etree.SubElement(body, q("edXMLManifest"), version="1.0")
    if not package.attachments:
        return
    encoded = etree.SubElement(root, q("AttachmentEncoded"))
    for attachment in package.attachments:
        reference = etree.SubElement(manifest, q("Reference"))
        _add(reference, "ContentId", attachment.content_id)
        _add(reference, "ContentType", attachment.content_type)
        _add(reference, "Description", attachment.description)
        _add(reference, "AttachmentName", attachment.name)
        element = etree.SubElement(encoded, q("Attachment"))
        _add(element, "ContentId", attachment.content_id)
        _add(element, "AttachmentName", attachment.name)
        _add(element, "Description", attachment.description)
        _add(element, "ContentType", attachment.content_type)
        _add(
            element, "ContentTransferEncoded", attachments.encode(attachment.data, attachment.name, attachment.encoding)
        )
