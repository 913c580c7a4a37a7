"""Signatures across implementations, on the connector's real documents: a package signed by this
project and a receipt the running connector signed verify with xmlsec1 (libxmlsec1) and with
Apache Santuario; packages signed by xmlsec1 and by Santuario verify with our verifier and are
accepted by the connector."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from lxml import etree

from connector.edxml import build
from signing import VerificationPolicy, verify_package
from signing.profile import edxml
from simulators import guide
from tests.interop.conftest import new_order, require, run

HERE = Path(__file__).parent
SANTUARIO = "/usr/share/java/xmlsec.jar"
# Santuario logs through slf4j and decodes with commons-codec (Debian dependencies of the package).
SANTUARIO_CLASSPATH = f"{SANTUARIO}:/usr/share/java/slf4j-api.jar:/usr/share/java/commons-codec.jar"
TEMPLATE = (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
    '<ds:Reference URI=""><ds:Transforms>'
    '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
    '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
    '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>'
    "</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"
)


@pytest.fixture(scope="module")
def santuario(tmp_path_factory) -> str:
    """``Dsig`` compiled once; the classpath to run it with."""
    require("javac", "java", SANTUARIO, why="Debian package libxml-security-java (Apache Santuario) and a JDK")
    build_dir = tmp_path_factory.mktemp("santuario")
    run(["javac", "-cp", SANTUARIO, "-d", build_dir, HERE / "santuario" / "Dsig.java"], cwd=build_dir)
    return f"{build_dir}:{SANTUARIO_CLASSPATH}"


@pytest.fixture(scope="module")
def documents(live, tmp_path_factory) -> dict[str, Path]:
    """A package signed here, and the receipt the connector signed when it accepted it."""
    directory = tmp_path_factory.mktemp("signed")
    order = new_order(live, directory, "signatures")
    receipt = live.client().service.sendDocument(
        messageId=order.message_id,
        edxmlPackage=order.package_file.read_bytes(),
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier={"dossierCode": order.dossier_code, "procedureCode": order.procedure_code},
    )
    (directory / "receipt.xml").write_bytes(receipt.signedReceipt)
    return {"package": order.package_file, "receipt": directory / "receipt.xml"}


def xmlsec1_verify(path: Path, ca: Path) -> str:
    return run(["xmlsec1", "--verify", "--trusted-pem", ca, "--enabled-reference-uris", "empty", path], cwd=path.parent)


@pytest.mark.parametrize("document", ["package", "receipt"])
def test_xmlsec1_verifies_a_project_signed_package_and_a_connector_receipt(live, documents, document):
    require("xmlsec1", why="Debian package xmlsec1")
    xmlsec1_verify(documents[document], live.keys_dir / "ca.pem")  # exit 0: valid and trusted


@pytest.mark.parametrize("document", ["package", "receipt"])
def test_santuario_verifies_a_project_signed_package_and_a_connector_receipt(live, documents, document, santuario):
    command = ["java", "-cp", santuario, "Dsig", "verify", documents[document], live.keys_dir / "ca.pem"]
    output = run(command, cwd=documents[document].parent)
    signer = guide.ONESTOP.organ_id if document == "package" else "000.00.99.H31"  # the connector signs receipts
    assert output.startswith("VALID ") and signer in output, output


def test_santuario_refuses_a_tampered_receipt(live, documents, santuario, tmp_path):
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(documents["receipt"].read_bytes().replace(b">accepted<", b">finished<"))
    command = ["java", "-cp", santuario, "Dsig", "verify", tampered, live.keys_dir / "ca.pem"]
    with pytest.raises(AssertionError, match="INVALID"):
        run(command, cwd=tmp_path)


def unsigned_package(tmp_path: Path, signer: str) -> tuple[Path, str]:
    dossier = guide.Dossier(f"INTEROP-{signer}-{uuid.uuid4().hex[:12]}", "1948087", "Nguyễn Văn An", "cbtiepnhan")
    path = tmp_path / "unsigned.edxml"
    path.write_bytes(build(guide.send_package(dossier)))
    return path, dossier.code


def accepted_everywhere(live, signed: bytes, dossier_code: str) -> None:
    """Our verifier says valid, and the running connector accepts the package."""
    verified = verify_package(signed, VerificationPolicy.from_paths(trust=[live.keys_dir / "ca.pem"]))
    assert verified.signer_organ_id == guide.ONESTOP.organ_id
    receipt = live.client().service.sendDocument(
        messageId=str(uuid.uuid4()),
        edxmlPackage=signed,
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier={"dossierCode": dossier_code, "procedureCode": guide.PROCEDURE_CODE},
    )
    assert receipt.state == "accepted"


def test_a_package_signed_by_xmlsec1_verifies_here(live, tmp_path):
    require("xmlsec1", why="Debian package xmlsec1")
    unsigned, dossier_code = unsigned_package(tmp_path, "xmlsec1")
    root = etree.fromstring(unsigned.read_bytes())
    root.find(f"{edxml('edXMLEnvelope')}/{edxml('edXMLHeader')}").append(etree.fromstring(TEMPLATE))
    unsigned.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    keys = live.keys_dir / guide.ONESTOP.organ_id
    signed = tmp_path / "signed-by-xmlsec1.edxml"
    command = ["xmlsec1", "--sign", "--privkey-pem", f"{keys}.key.pem,{keys}.cert.pem", "--output", signed, unsigned]
    run(command, cwd=tmp_path)
    accepted_everywhere(live, signed.read_bytes(), dossier_code)


def test_a_package_signed_by_santuario_verifies_here(live, santuario, tmp_path):
    unsigned, dossier_code = unsigned_package(tmp_path, "santuario")
    keys = live.keys_dir / guide.ONESTOP.organ_id
    signed = tmp_path / "signed-by-santuario.edxml"
    command = ["java", "-cp", santuario, "Dsig", "sign", unsigned, signed, f"{keys}.key.pem", f"{keys}.cert.pem"]
    run([*command, "edXMLHeader"], cwd=tmp_path)
    accepted_everywhere(live, signed.read_bytes(), dossier_code)
