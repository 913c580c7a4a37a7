"""The structure of a ZIP archive, checked byte by byte before anything trusts it.

A ZIP names each file twice: in its *local header* (read by streaming extractors, which walk
the file from the front) and in the *central directory* (read by ``zipfile`` and most
desktop tools, from the end). An archive whose two names differ looks harmless to one kind of
reader and writes ``../../../etc/x.sh`` with the other: a zip-slip relayed to whoever
extracts it downstream. ``check_archive`` accepts an archive only when both readers would
see the same thing:

- one end-of-central-directory record, at the end (only its comment may follow it), one disk,
  no ZIP64 (attachments are far below 4 GiB);
- the central directory right before that record, its entries exactly filling it;
- every entry's local header agreeing with its directory record: name (the same bytes),
  flags, method, CRC and sizes - with flag bit 3 (a *data descriptor*: a streaming writer puts
  CRC and sizes after the data, and zero or the same values in the local header), the
  descriptor after the data must carry the directory's values;
- the entries tiling the archive: the first local header at offset 0, each entry (header,
  name, extra field, data, descriptor) followed directly by the next, the last one by the
  central directory - no gaps, no overlaps, nothing unaccounted for;
- names that are relative paths: not empty, no leading ``/``, no drive letter, no backslash,
  no ``.``/``..`` segment, no control character; and no name twice (compared case-blind, as
  Windows and macOS file systems do).

Framework-free and standalone: it reads only the bytes, never the file data (no inflating).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from connector.errors import SimpleError

LOCAL_MAGIC = b"PK\x03\x04"
CENTRAL_MAGIC = b"PK\x01\x02"
END_MAGIC = b"PK\x05\x06"
DESCRIPTOR_MAGIC = b"PK\x07\x08"
ZIP64_LOCATOR_MAGIC = b"PK\x06\x07"

_LOCAL = struct.Struct("<4s5H3I2H")  # signature, version, flags, method, time, date, crc, sizes, name/extra length
_CENTRAL = struct.Struct("<4s6H3I5H2I")  # ... comment length, disk, internal attr, external attr, local offset
_END = struct.Struct("<4s4H2IH")  # signature, disk, directory disk, entries here, entries, size, offset, comment
_DESCRIPTOR = struct.Struct("<3I")  # crc, compressed size, size (after an optional signature)
_MAX_COMMENT = 0xFFFF
_ZIP64_SENTINEL = 0xFFFFFFFF
_DATA_DESCRIPTOR_FLAG = 0x08
_UTF8_FLAG = 0x800
_DRIVE = re.compile(r"^[A-Za-z]:")


class ZipStructureError(SimpleError, ValueError):
    """The archive is not what both kinds of ZIP reader would read alike. ``entry`` names the
    entry concerned (its central-directory name), None when the archive as a whole is wrong."""

    def __init__(self, reason: str, entry: str | None = None) -> None:
        super().__init__(f"entry {entry!r}: {reason}" if entry is not None else reason)
        self.reason = reason
        self.entry = entry


@dataclass(frozen=True)
class ZipEntry:
    """One entry as its central-directory record describes it (and its local header agrees)."""

    name: str
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int
    data_offset: int
    create_system: int
    external_attr: int

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


def is_zip(data: bytes) -> bool:
    """Whether ``data`` starts like a ZIP archive (a local header), whatever its file name says:
    .zip, .docx, .xlsx, .pptx, .odt, .ods, .odp, .jar, .epub are all ZIP archives."""
    return data[:4] == LOCAL_MAGIC


def unsafe_entry_name_reason(name: str) -> str | None:
    """Why an entry name is not a plain relative path inside the archive, or None."""
    if not name:
        return "has an empty name"
    if "\\" in name:
        return "has a backslash in its name"
    if name.startswith("/"):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "has a control character in its name"
    segments = name[:-1].split("/") if name.endswith("/") else name.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return "has an empty, '.' or '..' path segment"
    return None


def _decode_name(raw: bytes, flags: int) -> str:
    # As zipfile does: UTF-8 when the writer says so (flag bit 11), else the historic cp437.
    return raw.decode("utf-8", "replace") if flags & _UTF8_FLAG else raw.decode("cp437")


def _end_record(data: bytes) -> tuple[int, tuple[int, ...]]:
    """The end-of-central-directory record's offset and fields: the last one whose comment
    ends exactly where the archive ends."""
    lowest = max(0, len(data) - _END.size - _MAX_COMMENT)
    position = data.rfind(END_MAGIC, lowest)
    while position >= 0:
        if position + _END.size <= len(data):
            fields = _END.unpack_from(data, position)
            if position + _END.size + fields[-1] == len(data):
                return position, fields
        position = data.rfind(END_MAGIC, lowest, position)
    raise ZipStructureError(
        "no end-of-central-directory record at the end of the archive (truncated, or data after it)"
    )


def _central_directory(data: bytes) -> tuple[list[tuple[ZipEntry, bytes]], int]:
    """The directory's entries (each with its raw name) and where the directory starts."""
    end, (_, disk, directory_disk, here, total, size, offset, _comment) = _end_record(data)
    if disk or directory_disk or here != total:
        raise ZipStructureError("a multi-disk (split) archive is not accepted")
    if _ZIP64_SENTINEL in (size, offset) or total == 0xFFFF or data[end - 20 : end - 16] == ZIP64_LOCATOR_MAGIC:
        raise ZipStructureError("a ZIP64 archive is not accepted")
    if offset + size != end:
        raise ZipStructureError(
            f"the central directory ({size} bytes at offset {offset}) does not end where its end record "
            f"begins (offset {end}): unaccounted data"
        )
    entries = []
    position = offset
    for index in range(total):
        if position + _CENTRAL.size > end or data[position : position + 4] != CENTRAL_MAGIC:
            raise ZipStructureError(f"central directory record {index + 1} of {total} is missing or broken")
        (
            _,
            made_by,
            _version,
            flags,
            method,
            _time,
            _date,
            crc,
            compressed,
            size_,
            name_length,
            extra_length,
            comment_length,
            _disk,
            _internal,
            external,
            local_offset,
        ) = _CENTRAL.unpack_from(data, position)
        name_start = position + _CENTRAL.size
        raw_name = data[name_start : name_start + name_length]
        position = name_start + name_length + extra_length + comment_length
        if position > end:
            raise ZipStructureError(f"central directory record {index + 1} of {total} runs past the directory")
        name = _decode_name(raw_name, flags)
        if _ZIP64_SENTINEL in (compressed, size_, local_offset):
            raise ZipStructureError("ZIP64 sizes or offsets are not accepted", name)
        entry = ZipEntry(name, flags, method, crc, compressed, size_, local_offset, 0, made_by >> 8, external)
        entries.append((entry, raw_name))
    if position != end:
        raise ZipStructureError(
            f"the central directory lists {total} entries but holds {end - position} more bytes: unaccounted data"
        )
    return entries, offset


def _crc_and_sizes(values: tuple[int, int, int]) -> str:
    return f"CRC 0x{values[0]:08x}, {values[1]} compressed, {values[2]} bytes"


def _descriptor(data: bytes, position: int, limit: int) -> tuple[int, tuple[int, int, int] | None]:
    """The data descriptor at ``position``: its length and (crc, compressed size, size)."""
    if data[position : position + 4] == DESCRIPTOR_MAGIC and position + 4 + _DESCRIPTOR.size <= limit:
        return 4 + _DESCRIPTOR.size, _DESCRIPTOR.unpack_from(data, position + 4)
    if position + _DESCRIPTOR.size <= limit:
        return _DESCRIPTOR.size, _DESCRIPTOR.unpack_from(data, position)
    return 0, None


def _check_local(data: bytes, entry: ZipEntry, raw_name: bytes, limit: int) -> tuple[ZipEntry, int]:
    """The entry's local header against its directory record; the entry with its data offset,
    and where the entry (data descriptor included) ends."""
    start = entry.header_offset
    if start + _LOCAL.size > limit or data[start : start + 4] != LOCAL_MAGIC:
        raise ZipStructureError(f"no local header at offset {start}", entry.name)
    _, _version, flags, method, _time, _date, crc, compressed, size, name_length, extra_length = _LOCAL.unpack_from(
        data, start
    )
    name_start = start + _LOCAL.size
    local_name = data[name_start : name_start + name_length]
    if local_name != raw_name:
        shown = _decode_name(local_name, flags)
        reason = unsafe_entry_name_reason(shown)
        detail = f" (which {reason})" if reason else ""
        raise ZipStructureError(
            f"its local header names it {shown!r}{detail}: the local header and the central directory disagree",
            entry.name,
        )
    if flags != entry.flags:
        reason = f"flags 0x{flags:04x} in the local header, 0x{entry.flags:04x} in the directory"
        raise ZipStructureError(reason, entry.name)
    if method != entry.method:
        reason = f"compression method {method} in the local header, {entry.method} in the directory"
        raise ZipStructureError(reason, entry.name)
    described = (entry.crc, entry.compressed_size, entry.size)
    local = (crc, compressed, size)
    streamed = bool(flags & _DATA_DESCRIPTOR_FLAG)
    if local != described and not (streamed and local == (0, 0, 0)):
        raise ZipStructureError(
            f"CRC or sizes in the local header ({_crc_and_sizes(local)}) differ from the directory's "
            f"({_crc_and_sizes(described)})",
            entry.name,
        )
    data_offset = name_start + name_length + extra_length
    end = data_offset + entry.compressed_size
    if end > limit:
        raise ZipStructureError("its data runs into the central directory", entry.name)
    if streamed:
        length, values = _descriptor(data, end, limit)
        if values != described:
            raise ZipStructureError(
                "the data descriptor after its data does not repeat the directory's CRC and sizes", entry.name
            )
        end += length
    return (
        ZipEntry(
            entry.name,
            entry.flags,
            entry.method,
            entry.crc,
            entry.compressed_size,
            entry.size,
            entry.header_offset,
            data_offset,
            entry.create_system,
            entry.external_attr,
        ),
        end,
    )


def check_archive(data: bytes) -> list[ZipEntry]:
    """The archive's entries, in archive order, when its structure is sound (module docstring);
    otherwise ``ZipStructureError`` naming the first entry found wrong. Reads only headers: the
    cost is proportional to the number of entries, not to their size."""
    if not is_zip(data):
        raise ZipStructureError("the archive does not start with a local file header")
    directory, directory_offset = _central_directory(data)
    seen: dict[str, str] = {}
    for entry, _raw in directory:
        reason = unsafe_entry_name_reason(entry.name)
        if reason:
            raise ZipStructureError(reason, entry.name)
        folded = entry.name.casefold()
        if folded in seen:
            raise ZipStructureError(f"the name appears twice in the archive (as {seen[folded]!r} too)", entry.name)
        seen[folded] = entry.name
    entries = []
    expected = 0  # where the next local header must begin
    for entry, raw_name in sorted(directory, key=lambda item: item[0].header_offset):
        if entry.header_offset != expected:
            what = "unaccounted data before" if entry.header_offset > expected else "overlaps the entry before"
            raise ZipStructureError(
                f"its local header at offset {entry.header_offset} {what} it (expected offset {expected})", entry.name
            )
        checked, expected = _check_local(data, entry, raw_name, directory_offset)
        entries.append(checked)
    if expected != directory_offset:
        raise ZipStructureError(
            f"{directory_offset - expected} bytes between the last entry and the central directory: unaccounted data"
        )
    return entries
