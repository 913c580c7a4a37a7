"""Large requests (connector/soap/streaming.py): the package is decoded while the body is read
and spyne gets a hollow envelope. The answers must be the ones spyne gives for the whole
envelope, byte for byte but the request id: the same requests go through a connector that
hollows every body (threshold 0) and one that never does, sharing one runtime."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import re
import tempfile
import uuid
from collections.abc import Iterator

import pytest

from connector.edxml import Base64Error, ParseLimits, strict_b64decode
from connector.serving.app import ConnectorApp
from connector.soap import streaming
from simulators import guide
from testkit.live import AGENCY, ONESTOP, LiveConnector, start_connector
from testkit.net import new_id
from testkit.rawsoap import SOAP_ENV, envelope, send_document

NEVER = 1 << 62
LIMITS = ParseLimits(max_bytes=1 << 30)


@dataclasses.dataclass
class Pair:
    live: LiveConnector
    spyne: ConnectorApp  # never hollows
    stream: ConnectorApp  # hollows every body it can


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[Pair]:
    live, server = start_connector(tmp_path_factory.mktemp("streaming") / "data", max_package_bytes=400_000)
    runtime, settings = live.runtime, live.runtime.settings
    runtime.settings = dataclasses.replace(settings, stream_threshold_bytes=NEVER)
    spyne = ConnectorApp(runtime)
    runtime.settings = dataclasses.replace(settings, stream_threshold_bytes=0)
    stream = ConnectorApp(runtime)
    runtime.settings = settings
    yield Pair(live, spyne, stream)
    server.stop()
    runtime.close()


def call(app: ConnectorApp, body: bytes, path: str = "/soap") -> tuple[str, str, bytes]:
    """One in-process POST whose body is a file, as waitress hands over a spooled one."""
    stream = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, once the app has read it
    stream.write(body)
    stream.seek(0)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "HTTP_SOAPACTION": '""',
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "wsgi.url_scheme": "http",
        "wsgi.input": stream,
    }
    answer: dict[str, object] = {}
    with stream:
        content = b"".join(app(environ, lambda status, headers, exc_info=None: answer.update(s=status, h=headers)))
    assert environ["CONTENT_LENGTH"] == str(len(body)) and environ["wsgi.input"] is stream  # restored
    headers = dict(answer["h"])
    return answer["s"], headers["Content-Type"], content


def without_request_id(body: bytes) -> bytes:
    return re.sub(rb"<tns:requestId>[0-9a-f]+</tns:requestId>", b"", body)


def both(pair: Pair, make: callable, path: str = "/soap") -> tuple[str, bytes]:
    """The same request (made twice: a UsernameToken's nonce is used once) through both paths;
    the answers must agree."""
    spyne = call(pair.spyne, make(), path)
    stream = call(pair.stream, make(), path)
    assert stream[:2] == spyne[:2]
    assert without_request_id(stream[2]) == without_request_id(spyne[2])
    return stream[0], stream[2]


def signed_send(pair: Pair, padding: int = 100_000) -> tuple[bytes, str]:
    dossier = dataclasses.replace(guide.GUIDE_DOSSIER, code=f"D-{uuid.uuid4().hex[:12]}")
    return pair.live.sign(guide.send_package(dossier, padding=padding)), dossier.code


def sending(pair: Pair, package_text: str, code: str, system: str | None = ONESTOP, edit: tuple[str, str] = ("", "")):
    """A maker of a sendDocument envelope, authenticated as ``system`` (None: no header), with
    ``edit`` (old, new) applied to its body."""
    message_id = new_id()

    def make() -> bytes:
        body = send_document(package_text, message_id).replace(guide.DOSSIER_CODE, code)
        if edit[0]:
            body = body.replace(*edit)
        header = pair.live.security_header(system) if system else ""
        return envelope(body, header=header).encode()

    return make


def test_a_send_is_hollowed_and_accepted_as_spyne_accepts_it(pair):
    signed, code = signed_send(pair)
    make = sending(pair, base64.b64encode(signed).decode(), code)
    environ = {"wsgi.input": io.BytesIO(make()), "CONTENT_LENGTH": "0"}
    environ["CONTENT_LENGTH"] = str(len(environ["wsgi.input"].getvalue()))
    with streaming.hollowed(environ, LIMITS, SOAP_ENV) as package:
        assert package is not None and package.data == signed
        assert len(environ["wsgi.input"].getvalue()) < 4000  # spyne reads only the small rest

    first = call(pair.stream, make())
    assert first[0].startswith("200"), first[2][:500]
    # The same message again (through spyne): its original receipt, byte for byte.
    assert call(pair.spyne, make()) == first
    assert call(pair.stream, make()) == first
    assert pair.live.runtime.store.package_bytes(re.search(rb"packageDigest>(\w+)<", first[2]).group(1).decode())


@pytest.mark.parametrize(
    ("case", "fault", "hollow"),
    [  # hollow: whether the streaming path hollows it (else spyne gets the body as it is)
        ("no header", "Client.Unauthenticated", True),
        ("wrong password", "Client.Unauthenticated", True),
        ("schema-invalid field", "Client.SchemaInvalid", True),
        ("not base64", "Client.SchemaInvalid", False),
        ("padding inside", "Client.SchemaInvalid", False),
        ("comment in Body", "Client.SchemaInvalid", True),
        ("processing instruction", "Client.SchemaInvalid", True),
        ("unknown operation", "Client.SchemaInvalid", True),
        ("package too large", "Client.TooLarge", True),
        ("tampered package", "Client.SignatureInvalid", True),
        ("not the sender's operation", "Client.Forbidden", True),
    ],
)
def test_faults_are_the_same_on_both_paths(pair, monkeypatch, case, fault, hollow):
    signed, code = signed_send(pair)
    text = base64.b64encode(signed).decode()
    make = {
        "no header": lambda: sending(pair, text, code, system=None),
        "wrong password": lambda: _wrong_password(pair, text, code),
        "schema-invalid field": lambda: sending(pair, text, code, edit=(">INCOMING<", ">BOGUS<")),
        "not base64": lambda: sending(pair, text[:5000] + "!" + text[5000:], code),
        "padding inside": lambda: sending(pair, text[:5000] + "=" + text[5001:], code),
        "comment in Body": lambda: sending(pair, text, code, edit=("<c:kind>", "<!-- a comment --><c:kind>")),
        "processing instruction": lambda: sending(pair, text, code, edit=("<c:kind>", "<?pi here?><c:kind>")),
        "unknown operation": lambda: sending(pair, text, code, edit=("c:sendDocument>", "c:sendDocumentLater>")),
        "package too large": lambda: sending(pair, base64.b64encode(signed_send(pair, 450_000)[0]).decode(), code),
        "tampered package": lambda: sending(pair, base64.b64encode(_tampered(signed)).decode(), code),
        "not the sender's operation": lambda: sending(pair, text, code, system=AGENCY),
    }[case]()
    hollowed: list[object] = []
    reader = streaming.hollow

    def spy(*args: object) -> object:
        hollowed.append(None)
        hollowed[-1] = reader(*args)  # stays None when it raises: not hollowed
        return hollowed[-1]

    monkeypatch.setattr(streaming, "hollow", spy)
    status, body = both(pair, make)
    assert status.startswith("500") and re.search(rb"<tns:code>([^<]+)<", body).group(1).decode() == fault
    assert [result is not None for result in hollowed] == [hollow]


def _tampered(signed: bytes) -> bytes:
    """One base64 character of the attachment changed: the signature no longer verifies."""
    at = signed.index(b"A", len(signed) // 2)
    return signed[:at] + b"B" + signed[at + 1 :]


def _wrong_password(pair: Pair, text: str, code: str):
    make = sending(pair, text, code)

    def wrong() -> bytes:
        return re.sub(rb"(Type=\"[^\"]+\">)[^<]+<", rb"\1AAAAAAAAAAAAAAAAAAAAAAAAAAA=<", make(), count=1)

    return wrong


def test_a_soap12_envelope_on_the_soap11_port_and_back(pair):
    signed, code = signed_send(pair)
    make11 = sending(pair, base64.b64encode(signed).decode(), code)

    def as12() -> bytes:
        return make11().replace(SOAP_ENV.encode(), b"http://www.w3.org/2003/05/soap-envelope")

    for make, path in ((as12, "/soap"), (make11, "/soap12"), (as12, "/soap12")):  # either version, either path
        status, body = both(pair, make, path)  # accepted, the same receipt, on both reading paths
        assert status.startswith("200"), body[:500]


# ---- the reader itself -------------------------------------------------------------------------
def test_runs_split_anywhere_between_chunks_decode_the_same(monkeypatch):
    payload = bytes(range(256)) * 40
    wrapped = "\n".join(re.findall(".{1,76}", base64.b64encode(payload).decode()))  # MIME-style lines
    document = f'<?xml version="1.0"?><a xmlns="x"><b>{wrapped}</b><c>tail</c></a>'.encode()
    for chunk in (1, 3, 7, 4096, 5000):
        monkeypatch.setattr(streaming, "CHUNK_BYTES", chunk)
        hollow, package = streaming.hollow(io.BytesIO(document), len(document))
        assert package.data == payload
        assert hollow == document.replace(wrapped.encode(), package.marker.encode())


@pytest.mark.parametrize(
    "text",
    ["QUJD" * 2000 + "QQ==", "QUJD" * 2000 + "QQ= =", " QUJD" * 2000, "QUJD" * 2000 + "QQ==QUJD", "QUJD" * 2000 + "Q"],
)
def test_the_reader_accepts_exactly_what_strict_base64_accepts(text):
    document = f"<a><b>{text}</b></a>".encode()
    try:
        expected = strict_b64decode(text)
    except Base64Error:
        expected = None
    try:
        result = streaming.hollow(io.BytesIO(document), len(document))
    except streaming._NotHollowError:  # noqa: SLF001 - the refusal itself is the point
        result = None
    assert (result[1].data if result else None) == expected


def test_a_21_mib_file_over_http_is_hollowed_stored_and_kept_intact(connector, monkeypatch):
    """A real send through waitress (which spools the body to a file) with the default threshold."""
    hollowed = []
    reader = streaming.hollow
    monkeypatch.setattr(streaming, "hollow", lambda *args: hollowed.append(reader(*args)) or hollowed[-1])
    package = guide.send_package(padding=21 * 1024 * 1024)
    signed = connector.sign(package)
    receipt = connector.client().service.sendDocument(
        messageId=new_id(),
        edxmlPackage=signed,
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier={
            "dossierCode": guide.DOSSIER_CODE,
            "procedureCode": guide.PROCEDURE_CODE,
            "onestopNumber": guide.ONESTOP_DOSSIER_NUMBER,
        },
    )
    assert receipt.state == "accepted"
    assert [result[1].data == signed for result in hollowed] == [True]
    assert connector.runtime.store.package_bytes(receipt.packageDigest) == signed
    [stored] = connector.runtime.store.package_attachments(receipt.packageDigest)
    assert stored.sha256 == package.attachments[0].sha256
    assert hashlib.sha256(stored.data).hexdigest() == package.attachments[0].sha256


@pytest.mark.parametrize(
    "inside",
    [
        "QUJD" * 2000 + "<![CDATA[QUJD]]>",  # CDATA: the run ends early
        "QUJD" * 2000 + "<!-- a comment -->QUJD",
        "QUJD" * 2000 + "&#x41;QUJ",  # a character reference
        "QUJD" * 2000 + "QQ==QUJD",  # padding inside
    ],
)
def test_what_cannot_be_hollowed_exactly_goes_to_spyne_whole(inside):
    body = envelope(f"<c:sendDocument><c:edxmlPackage>{inside}</c:edxmlPackage></c:sendDocument>").encode()
    environ = {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    with streaming.hollowed(environ, LIMITS, SOAP_ENV) as package:
        assert package is None
        assert environ["wsgi.input"].read() == body  # rewound, unchanged
