"""Attachment bodies: base64 of a ZIP holding the file (vendor practice), or raw base64.

Decoding is bounded (size, compression ratio, one plain-named file per ZIP) and keeps at most
two copies of the file alive at once: the base64 text is dropped by the caller's frame, the
ZIP bytes while the file is being inflated, then only the file.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile

from connector.edxml.issues import EdxmlError
from connector.edxml.model import AttachmentEncoding
from connector.edxml.safexml import ParseLimits
from connector.errors import ErrorCode

_ZIP_MAGIC = b"PK\x03\x04"
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/=\s]*")
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


def decode(text: str, name: str, limits: ParseLimits, path: str, line: int | None) -> tuple[bytes, AttachmentEncoding]:
    def fail(reason: str) -> EdxmlError:
        return EdxmlError.single(ErrorCode.ATTACHMENT_INVALID, f"attachment {name!r}: {reason}", path, line)

    if not _BASE64_TEXT.fullmatch(text):
        bad = re.search(r"[^A-Za-z0-9+/=\s]", text)
        raise fail(f"ContentTransferEncoded is not base64 (character {bad.group()!r} at offset {bad.start()})")  # type: ignore[union-attr]
    try:
        raw = binascii.a2b_base64(text)
    except binascii.Error as exc:
        raise fail(f"ContentTransferEncoded is not valid base64 ({exc})") from None
    if raw[:4] != _ZIP_MAGIC:
        _check_size(len(raw), limits, fail)
        return raw, AttachmentEncoding.BASE64
    return _unzip(raw, limits, fail), AttachmentEncoding.ZIP


def _check_size(size: int, limits: ParseLimits, fail) -> None:  # noqa: ANN001
    if size > limits.max_attachment_bytes:
        raise fail(f"decoded size {size:,} bytes exceeds the limit of {limits.max_attachment_bytes:,}")


def _unzip(raw: bytes, limits: ParseLimits, fail) -> bytes:  # noqa: ANN001
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise fail(f"broken ZIP archive ({exc})") from None
    if len(members) != 1:
        raise fail(f"the ZIP archive holds {len(members)} files; exactly one is expected")
    info = members[0]
    reason = unsafe_name_reason(info.filename)
    if reason:
        raise fail(f"the file inside the ZIP archive, {info.filename!r}, {reason}")
    _check_size(info.file_size, limits, fail)
    if info.file_size > 1024 * 1024 and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1):
        raise fail(
            f"compression ratio {info.file_size // max(info.compress_size, 1)}:1 exceeds "
            f"{limits.max_compression_ratio}:1 (zip bomb)"
        )
    try:
        # ZipExtFile never yields more than the declared file_size, and checks the CRC.
        with archive.open(info) as member:
            return member.read()
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
        raise fail(f"broken ZIP archive ({exc})") from None
