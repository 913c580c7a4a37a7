"""What an auditor needs to know about the files a signed edXML package carries."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import zipfile
from dataclasses import dataclass

from lxml import etree

from .profile import edxml


@dataclass(frozen=True)
class ZipMember:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class AttachmentDigest:
    """One ``AttachmentEncoded/Attachment``, hashed as transported (decoded base64)."""

    content_id: str
    name: str
    content_type: str
    size: int | None
    sha256: str | None
    """SHA-256 of the decoded ``ContentTransferEncoded`` bytes; None if not base64."""
    zip_members: tuple[ZipMember, ...] = ()
    """Files inside, when the bytes are a ZIP archive (vendor practice)."""
    note: str = ""


def _text(element: etree._Element, local: str) -> str:
    child = element.find(edxml(local))
    return (child.text or "").strip() if child is not None else ""


def _zip_members(data: bytes) -> tuple[tuple[ZipMember, ...], str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = []
            for info in archive.infolist():
                if info.is_dir():
                    continue
                content = archive.read(info)
                members.append(ZipMember(info.filename, len(content), hashlib.sha256(content).hexdigest()))
            return tuple(members), ""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        return (), f"ZIP archive could not be read: {exc}"


def describe_attachments(signed_root: etree._Element) -> list[AttachmentDigest]:
    """Hash every attachment of a (verified) edXML package, in document order."""
    result = []
    for attachment in signed_root.iterfind(f"{edxml('AttachmentEncoded')}/{edxml('Attachment')}"):
        encoded = _text(attachment, "ContentTransferEncoded")
        common = {
            "content_id": _text(attachment, "ContentId"),
            "name": _text(attachment, "AttachmentName"),
            "content_type": _text(attachment, "ContentType"),
        }
        try:
            data = base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError):
            result.append(AttachmentDigest(size=None, sha256=None, note="content is not base64", **common))
            continue
        members, note = _zip_members(data) if data[:2] == b"PK" else ((), "")
        result.append(
            AttachmentDigest(
                size=len(data), sha256=hashlib.sha256(data).hexdigest(), zip_members=members, note=note, **common
            )
        )
    return result
