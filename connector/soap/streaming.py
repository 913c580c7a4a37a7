"""Large SOAP requests without holding the envelope in memory: the package is taken out while
the body is read, and spyne gets a hollow envelope.

spyne reads a whole request into memory and parses it into one tree; with a 27 MB package that
is ~19 copies of the package at the peak (body chunks, the joined string, the envelope tree,
the base64 text, the decoded bytes). For a body of ``stream_threshold_bytes`` or more
(waitress has already spooled it to a temporary file), ``hollowed`` instead reads the body in
chunks and copies it to a small *hollow* envelope, except for the one long run of base64 text
(the ``edxmlPackage``), which is decoded strictly as it goes by and replaced by a random marker.
spyne then processes the hollow envelope exactly as it would any request - the same hardened
parse, envelope rules, authentication, XSD validation, dispatch, answers and faults - and
``HardenedSoap11.byte_array_from_element`` hands over the decoded package where it finds the
marker. The package is decoded once, and nothing but it and the small envelope is in memory.

Equivalence is by construction, and checked before spyne sees anything: the hollow envelope
must parse (hardened), and the marker must be exactly the whole text of the one
``Envelope/Body/<request>/edxmlPackage`` element. Whenever that does not hold - a run that is
not strict base64, in an attribute or comment, a UTF-16 envelope, a malformed one - the
original body goes to spyne unchanged (the old path: the right answer, without the savings).
Those are rare, and mostly refused requests.
"""

from __future__ import annotations

import binascii
import io
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from connector.edxml import ParseLimits, parse_xml
from connector.errors import ConnectorError, SimpleError
from connector.soap.models import TNS

ENVIRON_KEY = "connector.soap.hollowed"
"""The environ entry that carries a ``HollowedPackage`` from here to the protocol."""

CHUNK_BYTES = 1024 * 1024
MIN_RUN_CHARS = 4096
"""A text run shorter than this stays in the envelope (no package is this small in a large request)."""

_BASE64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_WHITESPACE = b" \t\r\n"  # XML's whitespace, which strict base64 (connector.edxml.b64) allows between characters
_SPACES = (b"\n", b" ", b"\r", b"\t")
_RUN_CHARS = _BASE64_CHARS + _WHITESPACE
# '>' (the end of a start tag) followed by a long run of base64 text: where a package begins.
_RUN_START = re.compile(rb">[A-Za-z0-9+/= \t\r\n]{%d}" % MIN_RUN_CHARS)
_WIDE_STARTS = (b"\xff\xfe", b"\xfe\xff", b"\x00", b"<\x00")  # UTF-16/32: the bytes are not characters


@dataclass(frozen=True)
class HollowedPackage:
    """The package taken out of the envelope: the marker that stands in its place, and its bytes."""

    marker: str
    data: bytes


class _NotHollowError(SimpleError):
    """The body cannot be hollowed exactly; spyne gets it as it is."""


class _StrictBase64Sink:
    """Strict base64 (``connector.edxml.strict_b64decode``: the alphabet, whitespace between
    characters, padding only at the end) decoded piece by piece into one buffer. It accepts
    exactly what ``strict_b64decode`` accepts, with the same bytes; anything else is
    ``_NotHollowError`` (spyne's path then names the defect)."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        self._pending = b""  # fewer than four characters, waiting for the next piece
        self._padded = False

    def feed(self, text: bytes) -> None:
        if any(space in text for space in _SPACES):  # lines (MIME style): most senders write none
            text = text.translate(None, _WHITESPACE)
        chars = self._pending + text if self._pending else text
        whole = len(chars) - len(chars) % 4
        self._pending = chars[whole:]
        if not whole:
            return
        if self._padded:  # padding, then more data
            raise _NotHollowError
        try:  # anything outside the alphabet, and misplaced padding, is refused here
            self._out.write(binascii.a2b_base64(memoryview(chars)[:whole], strict_mode=True))
        except binascii.Error:
            raise _NotHollowError from None
        self._padded = chars[whole - 1 : whole] == b"="

    def finish(self) -> bytes:
        if self._pending or not self._out.tell():
            raise _NotHollowError
        return self._out.getvalue()  # the buffer itself, not a copy


def hollow(stream: IO[bytes], length: int) -> tuple[bytes, HollowedPackage] | None:
    """Read ``length`` bytes of ``stream`` in chunks: the envelope with its first long base64
    text run replaced by a marker, and that run decoded; None when there is no such run.
    Raises ``_NotHollowError`` when the run is not strict base64 ending at a tag."""
    marker = secrets.token_urlsafe(33).replace("-", "A").replace("_", "B")  # 44 base64 characters
    envelope = io.BytesIO()
    sink: _StrictBase64Sink | None = None
    package: bytes | None = None
    carry = b""
    remaining = length
    first = True
    while remaining > 0:
        chunk = stream.read(min(CHUNK_BYTES, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
        if first and chunk.startswith(_WIDE_STARTS):
            raise _NotHollowError
        first = False
        if package is not None:  # the package is out: the rest is envelope
            envelope.write(chunk)
            continue
        if sink is not None:
            end = _run_end(chunk)
            if end < 0:
                sink.feed(chunk)
                continue
            sink.feed(chunk[:end])
            package, chunk = sink.finish(), chunk[end:]
            envelope.write(marker.encode())
            envelope.write(chunk)
            continue
        buffer = carry + chunk
        match = _RUN_START.search(buffer)
        if match is None:
            carry = _undecided_tail(buffer)
            envelope.write(buffer[: len(buffer) - len(carry)])
            continue
        carry = b""
        start = match.start() + 1
        envelope.write(buffer[:start])
        sink = _StrictBase64Sink()
        rest = buffer[start:]
        end = _run_end(rest)
        if end < 0:
            sink.feed(rest)
            continue
        sink.feed(rest[:end])
        package = sink.finish()
        envelope.write(marker.encode())
        envelope.write(rest[end:])
    if sink is not None and package is None:  # the body ended inside the run
        raise _NotHollowError
    envelope.write(carry)
    if package is None:
        return None
    return envelope.getvalue(), HollowedPackage(marker, package)


def _run_end(data: bytes) -> int:
    """Where the run ends in ``data`` (at a '<'), -1 when it goes on; any other character
    outside base64 (a character reference, say) is refused by the decoder."""
    return data.find(b"<")


def _undecided_tail(buffer: bytes) -> bytes:
    """The end of ``buffer`` that may begin a run the next chunk completes: from its last '>'
    when only run characters follow it (fewer than ``MIN_RUN_CHARS``, else it would have matched)."""
    last = buffer.rfind(b">")
    if last < 0 or buffer[last + 1 :].translate(None, _RUN_CHARS):
        return b""
    return buffer[last:]


def _marker_in_place(envelope: bytes, marker: str, limits: ParseLimits, soap_env: str) -> bool:
    """The marker is exactly the whole text of ``Envelope/Body/<request>/edxmlPackage`` and
    appears nowhere else: the hollow envelope means what the original did, package aside."""
    if envelope.count(marker.encode()) != 1:
        return False
    try:
        root = parse_xml(envelope, limits).getroot()
    except ConnectorError:  # EdxmlError included: spyne's path says it about the body itself
        return False
    found = root.xpath(
        "/e:Envelope/e:Body/*/t:edxmlPackage[not(node()[not(self::text())])]",
        namespaces={"e": soap_env, "t": TNS},
    )
    return len(found) == 1 and found[0].text == marker


@contextmanager
def hollowed(environ: dict[str, Any], limits: ParseLimits, soap_env: str) -> Iterator[HollowedPackage | None]:
    """For the duration of the block, ``wsgi.input`` and ``CONTENT_LENGTH`` describe the hollow
    envelope and ``environ[ENVIRON_KEY]`` holds the package; afterwards the environ is as it
    was (middleware such as ``connector.serving.memory`` reads ``CONTENT_LENGTH`` after the app). Yields
    None, with the body rewound for spyne, when the body cannot be hollowed exactly."""
    stream = environ.get("wsgi.input")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if stream is None or not getattr(stream, "seekable", lambda: False)():
        yield None
        return
    start = stream.tell()
    try:
        result = hollow(stream, length)
    except (_NotHollowError, OSError, ValueError):  # spyne reads it again and answers as it would have
        result = None
    if result is None or not _marker_in_place(result[0], result[1].marker, limits, soap_env):
        stream.seek(start)
        yield None
        return
    envelope, package = result
    saved = {key: environ.get(key) for key in ("wsgi.input", "CONTENT_LENGTH")}
    environ.update({"wsgi.input": io.BytesIO(envelope), "CONTENT_LENGTH": str(len(envelope)), ENVIRON_KEY: package})
    try:
        yield package
    finally:
        environ.update(saved)
        environ.pop(ENVIRON_KEY, None)
