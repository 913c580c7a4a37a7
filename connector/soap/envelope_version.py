"""Which SOAP version a request's envelope is in, read from its first element only.

Both endpoints accept either version and answer in the version of the request (a documented
leniency, docs/contract.md): client generators pick a port and an envelope version independently
(gSOAP's default endpoint, node-soap's shortcut, PHP's ``SOAP_1_2`` without ``location``), and
every one of them was refused with a ``VersionMismatch`` although the connector speaks both.

The HTTP layer asks ``envelope_version`` before spyne sees the request and hands the body to the
spyne application of that version. Only the start of the body is read (the root element's start
tag: an envelope's first bytes), with a parser that loads no DTD and resolves nothing; the body
is given back whole (rewound, or replayed from the bytes read). Anything that is not clearly one
version's ``Envelope`` stays with the endpoint's own version, whose hardened protocol then gives
the precise fault (malformed XML, forbidden DOCTYPE, ``VersionMismatch`` for an ``Envelope`` in
another namespace, ...).
"""

from __future__ import annotations

import io
from typing import IO, Any

from lxml import etree

from connector.soap.faults import SoapVersion

PEEK_CHUNK = 4096
PEEK_LIMIT = 64 * 1024
"""Read at most this much looking for the root element (a prolog longer than this is no client's)."""

_VERSIONS = {f"{{{version.value}}}Envelope": version for version in SoapVersion}


class _Replay(io.RawIOBase):
    """A non-seekable ``wsgi.input`` with the bytes already read put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = io.BytesIO(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._head.read(len(buffer)) or self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def root_tag(head: bytes) -> str | None:
    """The root element's ``{namespace}name`` from the first bytes of a document, or None."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True, load_dtd=False)
    try:
        parser.feed(head)
        for _event, element in parser.read_events():
            return element.tag if isinstance(element.tag, str) else None
    except etree.XMLSyntaxError:
        return None
    return None


def envelope_version(environ: dict[str, Any], default: SoapVersion) -> SoapVersion:
    """The SOAP version of the request body in ``environ`` (``default`` when it is neither);
    ``wsgi.input`` reads from the start again afterwards."""
    stream = environ.get("wsgi.input")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if stream is None or length <= 0:
        return default
    seekable = getattr(stream, "seekable", lambda: False)()
    start = stream.tell() if seekable else 0
    head = b""
    tag = None
    while len(head) < min(length, PEEK_LIMIT) and tag is None:
        chunk = stream.read(min(PEEK_CHUNK, length - len(head)))
        if not chunk:
            break
        head += chunk
        tag = root_tag(head)
    if seekable:
        stream.seek(start)
    else:
        environ["wsgi.input"] = io.BufferedReader(_Replay(head, stream))
    return _VERSIONS.get(tag or "", default)
