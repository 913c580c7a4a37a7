"""Enveloped XML-DSig signing of edXML packages (and other small documents such as receipts).

The national profile: ``ds:Signature`` is the last child of ``edXMLHeader``; one
``Reference URI=""`` with the enveloped-signature transform, so the whole package –
header, manifest and ``AttachmentEncoded`` (the files) – is covered; exclusive C14N;
RSA-SHA256 (ECDSA P-256 optional); ``X509Data`` carries the certificate and its chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.xades import XAdESSigner

from .errors import CannotSignError
from .keys import SigningIdentity
from .policy import DEFAULT_MAX_BYTES
from .profile import EDXML_PROFILE, DocumentProfile
from .xmlparse import DS_SIGNATURE, DSIG_NS, UnsafeXMLError, hardened_parser, parse_document, serialize

Algorithm = Literal["rsa-sha256", "ecdsa-sha256"]

_SIGNATURE_METHODS: dict[str, SignatureMethod] = {
    "rsa-sha256": SignatureMethod.RSA_SHA256,
    "ecdsa-sha256": SignatureMethod.ECDSA_SHA256,
}


@dataclass(frozen=True)
class SigningOptions:
    """How to sign. Defaults follow the national profile."""

    algorithm: Algorithm = "rsa-sha256"
    xades: bool = False
    """Add XAdES-BES qualifying properties (SigningTime, SigningCertificateV2)."""
    include_chain: bool = True
    """Put the identity's chain certificates after the signer certificate in X509Data."""
    check_sender: bool = True
    """Refuse to sign when the document's sender OrganId is not the identity's OrganId
    (the receiver would reject it with SIGNER_MISMATCH)."""
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.algorithm not in _SIGNATURE_METHODS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; use one of {sorted(_SIGNATURE_METHODS)}")


class _Signer(XMLSigner):
    """signxml 5.2 re-parses the document internally with a parser lacking ``huge_tree``,
    so 20 MB packages (base64 text nodes > 10 MB) fail. It has no public parser hook for
    signing; ``_parser`` is the attribute its own ``verify(parser=...)`` sets."""

    def __init__(self, method: SignatureMethod) -> None:
        super().__init__(
            signature_algorithm=method,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        self._parser = hardened_parser()


class _XAdESSigner(XAdESSigner):
    """XAdES-BES with the same parser fix as ``_Signer``.

    signxml 5.2 digests the SignedProperties and KeyInfo references with the signer's C14N
    (exclusive here) but writes no Transform for it, so every verifier – signxml itself and
    xmlsec1 – falls back to inclusive C14N and reports a digest mismatch. We state the
    transform explicitly.
    """

    def __init__(self, method: SignatureMethod) -> None:
        super().__init__(
            signature_algorithm=method,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        self._parser = hardened_parser()

    def _add_reference_to_signed_info(self, sig_root, node_to_reference, **attrs):
        super()._add_reference_to_signed_info(sig_root, node_to_reference, **attrs)
        reference = sig_root.find("ds:SignedInfo", {"ds": DSIG_NS})[-1]
        transforms = etree.Element(f"{{{DSIG_NS}}}Transforms")
        etree.SubElement(transforms, f"{{{DSIG_NS}}}Transform", Algorithm=self.c14n_alg.value)
        reference.insert(0, transforms)


def _check_key(identity: SigningIdentity, algorithm: str) -> None:
    key = identity.private_key
    if algorithm == "rsa-sha256" and not isinstance(key, rsa.RSAPrivateKey):
        raise CannotSignError("rsa-sha256 needs an RSA key; this identity has an ECDSA key (use ecdsa-sha256)")
    if algorithm == "ecdsa-sha256":
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CannotSignError("ecdsa-sha256 needs an ECDSA P-256 key; this identity has an RSA key")
        if not isinstance(key.curve, ec.SECP256R1):
            raise CannotSignError(f"ecdsa-sha256 is profiled for P-256; this key uses {key.curve.name}")


def _insert_placeholder(parent: etree._Element, profile: DocumentProfile) -> None:
    """Put signxml's ``ds:Signature Id="placeholder"`` marker as the parent's last child.

    A vendor placeholder (``Signature`` in the document's own namespace, not XML-DSig) is
    removed first: it is not a signature and would otherwise sit next to the real one.
    """
    if profile.placeholder_signature is not None:
        for old in list(parent.iterchildren(profile.placeholder_signature)):
            # The whitespace after the removed element takes the place of the whitespace before it.
            previous = old.getprevious()
            if previous is not None:
                previous.tail = old.tail
            else:
                parent.text = old.tail
            parent.remove(old)
    # No whitespace is added around the signature: the signed content is then exactly the
    # document as given (the enveloped transform removes only the Signature element).
    etree.SubElement(parent, DS_SIGNATURE, Id="placeholder", nsmap={"ds": DSIG_NS})


def sign_xml(
    xml_bytes: bytes,
    identity: SigningIdentity,
    options: SigningOptions = SigningOptions(),
    profile: DocumentProfile = EDXML_PROFILE,
) -> bytes:
    """Sign a document with an enveloped signature placed as ``profile`` prescribes."""
    if len(xml_bytes) > options.max_bytes:
        raise CannotSignError(f"document is {len(xml_bytes)} bytes, above the {options.max_bytes}-byte limit")
    _check_key(identity, options.algorithm)
    try:
        root = parse_document(xml_bytes)
    except UnsafeXMLError as exc:
        raise CannotSignError(f"cannot sign: {exc}") from exc
    if root.tag != profile.root:
        raise CannotSignError(f"cannot sign: root element is {root.tag}, expected {profile.root}")
    existing = next(root.iter(DS_SIGNATURE), None)
    if existing is not None:
        raise CannotSignError(
            "cannot sign: the document already carries an XML-DSig Signature "
            f"(line {existing.sourceline}); counter-signing is not supported"
        )
    if options.check_sender and profile.sender_path is not None and identity.organ_id is not None:
        sender = profile.sender_of(root)
        if sender != identity.organ_id:
            raise CannotSignError(
                f"cannot sign: the document's sender OrganId is {sender!r} but the signing "
                f"certificate is for {identity.organ_id!r}"
            )
    parent = profile.signature_parent_of(root)
    if parent is None:
        raise CannotSignError(f"cannot sign: the document has no single {'/'.join(profile.signature_parent)}")
    _insert_placeholder(parent, profile)

    method = _SIGNATURE_METHODS[options.algorithm]
    certs = [identity.certificate, *(identity.chain if options.include_chain else ())]
    try:
        if options.xades:
            signed = _XAdESSigner(method).sign(root, key=identity.private_key, cert=certs, always_add_key_value=False)
        else:
            signed = _Signer(method).sign(root, key=identity.private_key, cert=certs)
    except SignXMLException as exc:
        raise CannotSignError(f"signing failed: {exc}") from exc
    return serialize(signed)


def sign_package(
    xml_bytes: bytes,
    identity: SigningIdentity,
    options: SigningOptions = SigningOptions(),
) -> bytes:
    """Sign an edXML package: ``ds:Signature`` as the last child of ``edXMLHeader``."""
    return sign_xml(xml_bytes, identity, options, EDXML_PROFILE)
