"""Attachment bodies: base64 of a ZIP holding the file (vendor practice), or raw base64.

Every ZIP met here - the vendor's wrapper, and a file that is itself a ZIP archive (.docx,
.xlsx, .pptx, .odt, .ods, .odp, ...: told by its first bytes, not by its name) - must have a
sound structure (``zipcheck``: local headers that agree with the central directory, nothing
hidden between entries, no duplicate or climbing names); otherwise ``Client.PackageInvalid``
naming the attachment and the entry. A receiver that extracts what the connector relays then
reads exactly what the connector checked.

Decoding is bounded (decoded size, compression ratio, one plain-named file per ZIP) and frugal:
the reader hands over the element, the base64 text is taken out of the tree (so libxml2 frees
its copy) and dropped once decoded, and the deflate stream is inflated straight from the ZIP
bytes into a buffer of the declared size. At most the ZIP bytes and the file are alive together.
"""

from __future__ import annotations

import base64
import io
import re
import stat
import zipfile
import zlib

from lxml import etree

from connector.edxml import zipcheck
from connector.edxml.b64 import Base64Error, strict_b64decode
from connector.edxml.issues import EdxmlError
from connector.edxml.model import AttachmentEncoding
from connector.edxml.paths import path_of
from connector.edxml.safexml import ParseLimits
from connector.errors import ErrorCode

# A fixed timestamp makes built packages byte-for-byte reproducible.
_ZIP_DATE = (2016, 1, 1, 0, 0, 0)


def unsafe_name_reason(name: str) -> str | None:
    """Why a file name cannot be used as-is (path components, control characters), or None."""
    if not name.strip():
        return "is empty"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if name in (".", "..") or name.startswith(".."):
        return "is a relative path component"
    if re.match(r"^[A-Za-z]:", name):
        return "starts with a drive letter"
    if any(ord(ch) < 32 for ch in name):
        return "contains control characters"
    return None


def encode(data: bytes, name: str, encoding: AttachmentEncoding) -> str:
    if encoding is AttachmentEncoding.BASE64:
        return base64.b64encode(data).decode("ascii")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
    return base64.b64encode(buffer.getbuffer()).decode("ascii")


class _Failure:
    """Builds the located error lazily: the element path is computed only when something fails."""

    def __init__(self, element: etree._Element, name: str) -> None:
        self.element = element
        self.name = name

    def __call__(self, reason: str, code: ErrorCode = ErrorCode.ATTACHMENT_INVALID) -> EdxmlError:
        return EdxmlError.single(
            code,
            f"attachment {self.name!r}: {reason}",
            path_of(self.element),
            self.element.sourceline,
        )

    def structure(self, exc: zipcheck.ZipStructureError, archive: str) -> EdxmlError:
        """A ZIP whose structure is unsound: the package is refused, naming the entry."""
        entry = f"entry {exc.entry!r} of {archive}" if exc.entry is not None else archive
        return self(f"{entry}: {exc.reason}", ErrorCode.PACKAGE_INVALID)


def decode(element: etree._Element, name: str, limits: ParseLimits) -> tuple[bytes, AttachmentEncoding]:
    """Decode a ``ContentTransferEncoded`` element. The element's text is consumed (set to None)."""
    fail = _Failure(element, name)
    text = element.text or ""
    element.text = None
    try:
        raw = strict_b64decode(text)
    except Base64Error as exc:
        raise fail(f"ContentTransferEncoded is not base64: {exc}") from None
    del text
    if not zipcheck.is_zip(raw):
        _check_size(len(raw), limits, fail)
        return raw, AttachmentEncoding.BASE64
    return _unzip(raw, limits, fail), AttachmentEncoding.ZIP


def _check_size(size: int, limits: ParseLimits, fail: _Failure) -> None:
    if size > limits.max_attachment_bytes:
        raise fail(f"decoded size {size:,} bytes exceeds the limit of {limits.max_attachment_bytes:,}")


def _special_file_reason(info: zipfile.ZipInfo) -> str | None:
    """Unix writers keep the file type in the high bits of ``external_attr``: a symlink, device,
    FIFO or socket is refused, whatever we would have done with its bytes (an extracting reader
    downstream could follow the link)."""
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if info.create_system == 3 and file_type not in (0, stat.S_IFREG):  # 3: Unix; 0: type not recorded
        kind = "a symbolic link" if file_type == stat.S_IFLNK else "a device, FIFO or socket"
        return f"is {kind}, not a regular file"
    return None


def _unzip(raw: bytes, limits: ParseLimits, fail: _Failure) -> bytes:
    # zipfile reads the central directory (sizes and CRC live there when the writer streamed,
    # as Java's ZipOutputStream does); the member is inflated here without zipfile's copy.
    try:
        members = [info for info in zipfile.ZipFile(io.BytesIO(raw)).infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise fail(f"broken ZIP archive ({exc})") from None
    if len(members) != 1:
        raise fail(f"the ZIP archive holds {len(members)} files; exactly one is expected")
    info = members[0]
    reason = unsafe_name_reason(info.filename) or _special_file_reason(info)
    if reason:
        raise fail(f"the file inside the ZIP archive, {info.filename!r}, {reason}")
    _check_size(info.file_size, limits, fail)
    if info.file_size > 1024 * 1024 and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1):
        raise fail(
            f"compression ratio {info.file_size // max(info.compress_size, 1)}:1 exceeds "
            f"{limits.max_compression_ratio}:1 (zip bomb)"
        )
    try:  # local headers against the directory zipfile read, and nothing hidden between entries
        entries = zipcheck.check_archive(raw)
    except zipcheck.ZipStructureError as exc:
        raise fail.structure(exc, "the ZIP archive") from None
    entry = next((e for e in entries if e.header_offset == info.header_offset), None)
    if entry is None or entry.compressed_size != info.compress_size:
        raise fail("broken ZIP archive (member data out of bounds)")
    compressed = memoryview(raw)[entry.data_offset : entry.data_offset + entry.compressed_size]
    if info.compress_type == zipfile.ZIP_STORED:
        data = bytes(compressed)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            # max_length bounds the output whatever the header claimed: no bomb gets past it.
            data = inflater.decompress(compressed, info.file_size + 1)
        except zlib.error as exc:
            raise fail(f"broken ZIP archive ({exc})") from None
    else:
        raise fail(f"unsupported ZIP compression method {info.compress_type}")
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise fail("broken ZIP archive (size or CRC does not match the directory)")
    if zipcheck.is_zip(data):  # the file is a ZIP itself (.docx, .odt, ...): a receiver may extract it
        try:
            zipcheck.check_archive(data)
        except zipcheck.ZipStructureError as exc:
            raise fail.structure(exc, f"{info.filename!r} (a ZIP-based file inside the ZIP archive)") from None
    return data
