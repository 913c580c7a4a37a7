"""The verifier hands signxml its own parse of the document (signing/onetree.py):
the bytes it digests and returns must be the ones stock signxml computes from the bytes, for
every shape of signed document the policy admits, and a changed document must still fail."""

from __future__ import annotations

import re

import pytest
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import SignatureMethod
from signxml.exceptions import InvalidDigest
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

from signing import Reason, SignatureVerificationError, SigningOptions, bigtext, sign_xml, verify_package
from signing.profile import EDXML_PROFILE
from signing.xmlparse import hardened_parser
from testkit.packages import Attachment, PackageSpec, build_package, fake_pdf

LOCATION = "./" + "".join(f"{step}/" for step in EDXML_PROFILE.signature_parent)  # as signing/verify.py says it


def stock(data: bytes, sender, xades: bool) -> bytes:
    """What signxml itself digests, from the bytes (the verifier's way before)."""
    common = {
        "location": LOCATION,
        "expect_references": data.count(b"<ds:Reference "),
        "signature_methods": frozenset({SignatureMethod.RSA_SHA256}),
    }
    if xades:
        results = XAdESVerifier().verify(
            data,
            x509_cert=sender.certificate,
            parser=hardened_parser(),
            expect_config=XAdESSignatureConfiguration(**common),
        )
        return results[0].signed_data
    return (
        XMLVerifier()
        .verify(
            data, x509_cert=sender.certificate, parser=hardened_parser(), expect_config=SignatureConfiguration(**common)
        )
        .signed_data
    )


def digested_by_both(data: bytes, policy, sender, xades: bool) -> bytes | None:
    """What our verifier digested (None: refused as a digest mismatch), checked to be what stock
    signxml digests (None: stock signxml refuses it too)."""
    try:
        verified = verify_package(data, policy).signed_xml
    except SignatureVerificationError as exc:
        assert exc.reason is Reason.DIGEST_MISMATCH
        verified = None
    try:
        expected = stock(data, sender, xades)
    except InvalidDigest:
        expected = None
    assert verified == expected
    return verified


@pytest.mark.parametrize("xades", [False, True])
@pytest.mark.parametrize(
    ("edit", "accepted"),
    [
        ((b"", b""), True),
        ((b"</ds:Signature>", b"</ds:Signature><!-- after -->"), True),  # comments are not signed
        ((b"</ds:Signature>", b"</ds:Signature>\n  "), False),  # the text after the Signature is
        ((b"<ds:Signature", b"<!-- before --><ds:Signature"), True),
        ((b"<ds:Signature", b" <ds:Signature"), False),
        ((b"?>", b"?>\n<!-- top -->"), True),
    ],
)
def test_the_digested_bytes_are_signxmls_own(package, sender, policy, xades, edit, accepted):
    data = sign_xml(package, sender, SigningOptions(xades=xades)).replace(*edit, 1)
    verified = digested_by_both(data, policy, sender, xades)
    assert (verified is not None) is accepted


@pytest.mark.parametrize("xades", [False, True])
def test_a_changed_document_still_fails(package, sender, policy, xades):
    data = sign_xml(package, sender, SigningOptions(xades=xades))
    at = data.index(b"</edXML:edXMLHeader>")
    changed = data[:at] + b"<!-- harmless -->" + data[at:]
    assert verify_package(changed, policy).signed_xml == stock(changed, sender, xades)  # comments are not signed
    body = data.rindex(b"</")
    with pytest.raises(SignatureVerificationError) as refused:
        verify_package(data[:body] + b" " + data[body:], policy)
    assert refused.value.reason is Reason.DIGEST_MISMATCH


def test_big_texts_are_canonicalised_as_signxml_does(sender, policy):
    """Attachments above the size the verifier takes out of the tree for canonicalisation
    (one wrapped in lines, one not), and a big text that C14N must escape (left in place)."""
    spec = PackageSpec(
        attachments=(
            Attachment("cid:a", "a.pdf", fake_pdf(400_000, 2)),
            Attachment("cid:b", "b.pdf", fake_pdf(300_000, 3)),
        ),
        subject="Tom &amp; Jerry\r\n" * 20_000,
    )
    package = build_package(spec)
    first = re.search(rb"<edXML:ContentTransferEncoded>([^<]+)<", package)
    wrapped = b"\n".join(re.findall(rb".{1,76}", first.group(1)))
    package = package.replace(first.group(1), wrapped, 1)
    for xades in (False, True):
        data = sign_xml(package, sender, SigningOptions(xades=xades))
        assert len(data) > 1_000_000
        hollow, texts = bigtext.parse_hollow(data)
        assert len(texts) == 2  # both attachments kept out of the tree, the subject not
        whole = etree.fromstring(data, hardened_parser())
        assert [e.sourceline for e in hollow.iter()] == [e.sourceline for e in whole.iter()]
        assert verify_package(data, policy).signed_xml == stock(data, sender, xades)
        at = data.index(b"A", data.index(b"<edXML:ContentTransferEncoded>") + 200_000)
        with pytest.raises(SignatureVerificationError) as refused:
            verify_package(data[:at] + b"B" + data[at + 1 :], policy)
        assert refused.value.reason is Reason.DIGEST_MISMATCH


@pytest.mark.parametrize(
    "where",
    [
        "<!-->{run}<-->",  # inside a comment
        '<edXML:X a=">{run}<"/>',  # inside an attribute (not well-formed: '<' in a value)
        "<edXML:X><![CDATA[x>{run}<]]></edXML:X>",  # inside CDATA
    ],
)
def test_big_runs_that_are_not_element_text_are_parsed_whole(sender, policy, where):
    package = build_package(PackageSpec(attachments=(Attachment("cid:a", "a.pdf", fake_pdf(400_000, 2)),)))
    signed = sign_xml(package, sender, SigningOptions())
    assert len(bigtext.parse_hollow(signed)[1]) == 1  # the attachment, kept out
    data = signed.replace(
        b"</edXML:edXMLHeader>", where.format(run="QUJD" * 100_000).encode() + b"</edXML:edXMLHeader>"
    )
    try:
        root, texts = bigtext.parse_hollow(data)
    except ValueError:  # not well-formed: the verifier says so, as before
        with pytest.raises(SignatureVerificationError) as refused:
            verify_package(data, policy)
        assert refused.value.reason is Reason.MALFORMED_XML
        return
    assert texts == {}  # a marker outside an element's text: the document is parsed whole
    digested_by_both(data, policy, sender, False)


@pytest.mark.parametrize(("declaration", "kept_out"), [("UTF-8", 1), ("utf-8", 1), ("ISO-8859-1", 0), (None, 1)])
def test_only_utf8_or_ascii_documents_are_hollowed(declaration, kept_out):
    prolog = f'<?xml version="1.0" encoding="{declaration}"?>\n' if declaration else ""
    document = f"{prolog}<a><b>{'QUJD' * 100_000}</b><c/></a>".encode()
    root, texts = bigtext.parse_hollow(document)
    assert len(texts) == kept_out
    assert root.find("c").sourceline == 1 + bool(prolog)
