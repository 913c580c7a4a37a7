"""ZIP structure family (issue 21, finding 1): signed packages whose attachment ZIP says one
thing in its central directory and another in its local headers (a zip-slip that a streaming
extractor at the receiving agency would follow), hides data between entries, or names entries
twice or out of the archive - in the vendor's ZIP wrapper and in a ZIP-based file inside it
(.docx, .odt, ...). Each reaches a running connector over HTTP correctly signed by a trusted
sender, gets ``Client.PackageInvalid`` naming the attachment and the entry, and changes no row;
sound archives (a streamed one with data descriptors, a .docx) still go through."""

from __future__ import annotations

import dataclasses
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

import pytest

from connector.edxml import build
from connector.errors import ErrorCode
from signing import sign_package
from simulators import guide
from testkit.faults import refused_envelope
from testkit.net import new_id
from testkit.rawsoap import b64, envelope, post, send_document

ATTACHMENT = (b"<edXML:ContentTransferEncoded>", b"</edXML:ContentTransferEncoded>")
NAME = "DM_1669450153.pdf"  # the guide's attachment, as the AttachmentName says
PDF = b"%PDF-1.4 the dossier"


# ---- a ZIP writer that can lie ------------------------------------------------------------
@dataclass
class Entry:
    name: str
    content: bytes
    local_name: str | None = None  # what the local header says, when it lies
    streamed: bool = False  # flag bit 3: CRC and sizes in a data descriptor after the data
    descriptor_signature: bool = True
    local_size: int | None = None  # the local header's uncompressed size, when it lies
    local_crc: int | None = None
    local_flags: int | None = None
    descriptor_crc: int | None = None


def raw_zip(entries: list[Entry], between: bytes = b"", before_directory: bytes = b"") -> bytes:
    """Deflated entries, each local header written as told; ``between`` after the first entry's
    data, ``before_directory`` after the last one (offsets in the directory stay right)."""
    out = io.BytesIO()
    records = []
    for index, entry in enumerate(entries):
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = compressor.compress(entry.content) + compressor.flush()
        crc = zlib.crc32(entry.content)
        flags = 0x08 if entry.streamed else 0
        name = entry.name.encode()
        local_name = (entry.local_name if entry.local_name is not None else entry.name).encode()
        offset = out.tell()
        local = (crc, len(data), len(entry.content)) if not entry.streamed else (0, 0, 0)
        if entry.local_size is not None:
            local = (local[0], local[1], entry.local_size)
        if entry.local_crc is not None:
            local = (entry.local_crc, local[1], local[2])
        local_flags = flags if entry.local_flags is None else entry.local_flags
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, local_flags, 8, 0, 0x4821, *local, len(local_name), 0))
        out.write(local_name + data)
        if entry.streamed:
            signature = b"PK\x07\x08" if entry.descriptor_signature else b""
            descriptor_crc = crc if entry.descriptor_crc is None else entry.descriptor_crc
            out.write(signature + struct.pack("<3I", descriptor_crc, len(data), len(entry.content)))
        if index == 0:
            out.write(between)
        records.append(
            struct.pack(
                "<4s6H3I5H2I",
                b"PK\x01\x02",
                20,
                20,
                flags,
                8,
                0,
                0x4821,
                crc,
                len(data),
                len(entry.content),
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )  # fmt: skip
            + name
        )
    out.write(before_directory)
    directory = out.tell()
    out.write(b"".join(records))
    size = out.tell() - directory
    out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(records), len(records), size, directory, 0))
    return out.getvalue()


def docx(extra: list[Entry] | None = None) -> bytes:
    """A small Office Open XML document (a ZIP of parts), with ``extra`` entries added."""
    parts = [
        Entry("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'),
        Entry("_rels/.rels", b'<?xml version="1.0"?><Relationships/>'),
        Entry("word/document.xml", b'<?xml version="1.0"?><w:document xmlns:w="urn:w"/>'),
    ]
    return raw_zip(parts + (extra or []))


def wrapped(file_name: str, content: bytes) -> bytes:
    """The vendor's wrapper: a ZIP holding the one file (written by zipfile, a sound archive)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(file_name, content)
    return buffer.getvalue()


def with_attachment(archive: bytes, document_id: str | None = None) -> bytes:
    """The guide's package (under a new DocumentId if given) with its attachment's body
    replaced by base64 of ``archive``."""
    package = guide.send_package()
    if document_id is not None:
        package = dataclasses.replace(package, document_id=document_id)
    data = build(package)
    start = data.index(ATTACHMENT[0]) + len(ATTACHMENT[0])
    return data[:start] + b64(archive).encode() + data[data.index(ATTACHMENT[1]) :]


def signed(live, data: bytes) -> bytes:  # noqa: F811
    return sign_package(data, live.runtime.dev_keys.identity(guide.ONESTOP.organ_id))


# ---- the wrapper ZIP ----------------------------------------------------------------------
WRAPPER = {
    # what the audit sent: the directory shows the PDF, the local header climbs out
    "local header names ../../../etc/x.sh": (
        raw_zip([Entry(NAME, PDF, local_name="../../../etc/x.sh")]),
        [NAME, "../../../etc/x.sh", "disagree"],
    ),
    "local header names an absolute path": (
        raw_zip([Entry(NAME, PDF, local_name="/etc/cron.d/x")]),
        [NAME, "/etc/cron.d/x"],
    ),
    "local header names a Windows path": (
        raw_zip([Entry(NAME, PDF, local_name="..\\..\\Startup\\x.bat")]),
        [NAME, "backslash"],
    ),
    "local header of the same length, another name": (
        raw_zip([Entry(NAME, PDF, local_name="DM_1669450153.exe")]),
        [NAME, "DM_1669450153.exe"],
    ),
    "local header understates the size": (raw_zip([Entry(NAME, PDF, local_size=3)]), [NAME, "sizes"]),
    "local header has another CRC": (raw_zip([Entry(NAME, PDF, local_crc=0xDEADBEEF)]), [NAME, "CRC"]),
    "local header has other flags": (raw_zip([Entry(NAME, PDF, local_flags=0x01)]), [NAME, "flags"]),
    "data descriptor disagrees with the directory": (
        raw_zip([Entry(NAME, PDF, streamed=True, descriptor_crc=1)]),
        [NAME, "data descriptor"],
    ),
    "a hidden entry between the file and the directory": (
        raw_zip([Entry(NAME, PDF)], before_directory=raw_zip([Entry("x.sh", b"#!/bin/sh\nrm -rf /")])[:60]),
        ["unaccounted"],
    ),
}


@pytest.mark.parametrize("case", WRAPPER)
def test_a_wrapper_zip_whose_structure_lies_is_refused_naming_the_entry(live, case):  # noqa: F811
    archive, words = WRAPPER[case]
    fault = refused_envelope(
        live, envelope(send_document(b64(signed(live, with_attachment(archive))))), ErrorCode.PACKAGE_INVALID
    )
    assert f"attachment {NAME!r}" in fault.message
    for word in words:
        assert word in fault.message, fault.message


# ---- a ZIP-based file inside the wrapper (.docx) -----------------------------------------
INNER = {
    "entry whose local header climbs out": (
        docx([Entry("word/media/a.png", b"png", local_name="../../x.sh")]),
        "word/media/a.png",
    ),
    "entry named ../": (docx([Entry("../../evil.sh", b"#!/bin/sh")]), "../../evil.sh"),
    "entry with an absolute name": (docx([Entry("/etc/passwd", b"root")]), "/etc/passwd"),
    "entry with a backslash": (docx([Entry("word\\..\\..\\evil.dll", b"MZ")]), "word\\..\\..\\evil.dll"),
    "the same name twice": (docx([Entry("word/document.xml", b"<other/>")]), "word/document.xml"),
    "data hidden between two entries": (
        raw_zip([Entry("a.xml", b"<a/>"), Entry("b.xml", b"<b/>")], between=b"X" * 40),
        "b.xml",
    ),
}


@pytest.mark.parametrize("case", INNER)
def test_a_zip_based_file_inside_the_wrapper_is_checked_too(live, case):  # noqa: F811
    inner, entry = INNER[case]
    package = with_attachment(wrapped("DM_1669450153.docx", inner))
    fault = refused_envelope(live, envelope(send_document(b64(signed(live, package)))), ErrorCode.PACKAGE_INVALID)
    assert f"attachment {NAME!r}" in fault.message and "DM_1669450153.docx" in fault.message
    assert f"entry {entry!r}" in fault.message, fault.message


# ---- sound archives still go through -------------------------------------------------------
def accepted(live, archive: bytes) -> None:  # noqa: F811
    """The package with this attachment body, under a new DocumentId, is answered with a receipt."""
    data = signed(live, with_attachment(archive, document_id=new_id()))
    response = post(live.url, envelope(send_document(b64(data))))
    assert response.status_code == 200, response.text[:500]
    assert b"sendDocumentResponse" in response.content


def test_a_docx_inside_the_wrapper_is_accepted(live):  # noqa: F811
    accepted(live, wrapped("DM_1669450153.docx", docx()))


@pytest.mark.parametrize("signature", [True, False], ids=["descriptor with signature", "without"])
def test_a_streamed_wrapper_with_data_descriptors_is_accepted(live, signature):  # noqa: F811
    """Java's ZipOutputStream and other streaming writers set flag bit 3: zero CRC and sizes in
    the local header, the real ones in a descriptor after the data (its signature is optional)."""
    accepted(live, raw_zip([Entry(NAME, PDF, streamed=True, descriptor_signature=signature)]))


def test_a_raw_base64_pdf_is_not_taken_for_a_zip(live):  # noqa: F811
    accepted(live, PDF)
