"""Interoperability with the reference implementation: the ``xmlsec1`` command-line tool (libxmlsec1).

Both directions: packages signed here verify with xmlsec1 against the CA; a package signed by
xmlsec1 (template under edXMLHeader, certificates made with openssl) verifies here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from signing import SigningOptions, VerificationPolicy, sign_package, verify_package
from signing.profile import edxml
from testkit.packages import SENDER

XMLSEC1 = shutil.which("xmlsec1")
OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(
    XMLSEC1 is None or OPENSSL is None,
    reason="xmlsec1/openssl not installed (Debian packages xmlsec1, openssl; .ci/ensure-tools installs xmlsec1)",
)

TEMPLATE = """<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>\
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>\
<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>\
<ds:Reference URI=""><ds:Transforms>\
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>\
<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>\
<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>\
</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"""


def xmlsec1_verify(document: bytes, ca: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "to-verify.edxml"
    path.write_bytes(document)
    return subprocess.run(
        [
            XMLSEC1,
            "--verify",
            "--trusted-pem",
            str(ca),
            "--enabled-reference-uris",
            "empty,same-doc",
            *extra,
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_xmlsec1_verifies_our_rsa_signature(signed: bytes, dev_keys, tmp_path: Path) -> None:
    result = xmlsec1_verify(signed, dev_keys.ca_path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "SignedInfo References (ok/all): 1/1" in result.stderr


def test_xmlsec1_verifies_our_ecdsa_xades_signature(package: bytes, issue, dev_keys, tmp_path: Path) -> None:
    signed = sign_package(package, issue(key_algorithm="ec"), SigningOptions(algorithm="ecdsa-sha256", xades=True))
    # XAdES SignedProperties is referenced by its Id, which xmlsec1 must be told is an ID attribute.
    result = xmlsec1_verify(
        signed, dev_keys.ca_path, tmp_path, "--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties"
    )
    assert result.returncode == 0, result.stderr
    assert "SignedInfo References (ok/all): 3/3" in result.stderr


def test_xmlsec1_rejects_a_tampered_package(signed: bytes, dev_keys, tmp_path: Path) -> None:
    tampered = signed.replace("tháng 11/2022</edXML:Subject>".encode(), "tháng 12/2022</edXML:Subject>".encode())
    assert xmlsec1_verify(tampered, dev_keys.ca_path, tmp_path).returncode != 0


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def openssl_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA and a signing certificate made with openssl commands, as a partner would."""
    directory = tmp_path_factory.mktemp("openssl-pki")
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
        "-subj", "/C=VN/O=Partner CA/CN=Partner Test Root CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "signer.key", "-out", "signer.csr", "-utf8",
        "-subj", f"/C=VN/O=Sở Tư pháp tỉnh Hưng Yên/CN=Sở Tư pháp tỉnh Hưng Yên/serialNumber={SENDER}",
        cwd=directory,
    )  # fmt: skip
    (directory / "signer.ext").write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    _openssl(
        "x509", "-req", "-in", "signer.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "signer.pem", "-days", "730", "-sha256", "-extfile", "signer.ext",
        cwd=directory,
    )  # fmt: skip
    return directory


def test_package_signed_by_xmlsec1_verifies_here(package: bytes, openssl_pki: Path, tmp_path: Path) -> None:
    root = etree.fromstring(package)
    root.find(f"{edxml('edXMLEnvelope')}/{edxml('edXMLHeader')}").append(etree.fromstring(TEMPLATE))
    template = tmp_path / "template.edxml"
    template.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    out = tmp_path / "signed-by-xmlsec1.edxml"
    subprocess.run(
        [
            XMLSEC1, "--sign", "--privkey-pem", f"{openssl_pki / 'signer.key'},{openssl_pki / 'signer.pem'}",
            "--output", str(out), str(template),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    result = verify_package(out.read_bytes(), VerificationPolicy.from_paths(trust=[openssl_pki / "ca.pem"]))
    assert result.signer_organ_id == SENDER
    assert result.algorithm == "rsa-sha256"
    assert "Partner Test Root CA" in result.chain[-1]
