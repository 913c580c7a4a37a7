"""Verifying enveloped XML-DSig signatures against an explicit ``VerificationPolicy``.

Order of checks (the first failure is the reported reason):
size → well-formedness → root element → where the Signature is (wrapping) → SignedInfo
algorithms and references → signer certificate (validity, KeyUsage, chain, revocation) →
cryptography (digest of the document, signature value) via signxml → sender ↔ signer.

The caller receives ``signed_xml``: the canonical bytes that were actually digested. Anything
not in it was not signed, so callers must continue with it alone (signature-wrapping defence).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import SignatureConfiguration
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature, SignXMLException
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifyResult

from . import bigtext
from .attachments import AttachmentDigest, describe_attachments
from .certs import fingerprint_sha256, organ_id_of, organ_name_of, subject_text
from .errors import Reason, SignatureVerificationError
from .onetree import OneTreeVerifier, OneTreeXAdESVerifier
from .policy import VerificationPolicy
from .profile import EDXML_PROFILE, PROFILES, DocumentProfile, find_path, profile_for
from .trust import ValidatedSigner, validate_signer
from .xmlparse import DS_SIGNATURE, DSIG_NS, UnsafeXMLError, hardened_parser, local_name, parse_document

XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
_DS = {"ds": DSIG_NS}


@dataclass(frozen=True)
class VerifiedPackage:
    """The outcome of a successful verification. Use ``signed_xml`` and nothing else downstream."""

    signed: bool
    """False only when the policy lets unsigned documents through (``require_signature=False``)."""
    signed_parts: bigtext.Parts = field(repr=False)
    """``signed_xml`` in pieces (the big texts are slices of the input: not copied again)."""
    signed_root: etree._Element = field(repr=False)
    """``signed_xml`` parsed; the tree the caller may read."""
    sender_organ_id: str | None = None
    signer_subject: str | None = None
    signer_organ_id: str | None = None
    signer_organ_name: str | None = None
    signer_fingerprint: str | None = None
    serial: str | None = None
    """Certificate serial number, lower-case hex."""
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    chain: tuple[str, ...] = ()
    """Subjects from the signer to the trust anchor."""
    algorithm: str | None = None
    """Signature method fragment, e.g. ``rsa-sha256``."""
    digest_algorithm: str | None = None
    canonicalization: str | None = None
    signing_time: dt.datetime | None = None
    """XAdES SigningTime when present (claimed by the signer, covered by the signature)."""
    covered: str = ""
    revocation: tuple[str, ...] = ()
    verified_at: dt.datetime | None = None
    xades: bool = False
    document: str = EDXML_PROFILE.name
    """The kind of document (its profile's name), e.g. ``connector receipt``."""

    @property
    def signed_xml(self) -> bytes:
        """The canonical bytes that were digested (the document without its Signature)."""
        return b"".join(self.signed_parts)

    def attachments(self) -> list[AttachmentDigest]:
        """SHA-256 of each attachment as signed (computed on demand: it decodes every file)."""
        return describe_attachments(self.signed_root)


def _fail(reason: Reason, message: str) -> SignatureVerificationError:
    return SignatureVerificationError(reason, message)


def _path_text(profile: DocumentProfile) -> str:
    return "/".join(etree.QName(tag).localname for tag in (profile.root, *profile.signature_parent))


def _element_path(element: etree._Element) -> str:
    parts = [local_name(element)] + [local_name(a) for a in element.iterancestors()]
    return "/" + "/".join(reversed(parts))


def _locate_signature(root: etree._Element, profile: DocumentProfile) -> etree._Element | None:
    """The single XML-DSig Signature at the profile's place, None when there is none at all."""
    if root.tag != profile.root:
        raise _fail(Reason.WRONG_DOCUMENT, f"root element is {root.tag}, expected {profile.root} ({profile.name})")
    signatures = list(root.iter(DS_SIGNATURE))
    if not signatures:
        return None
    if len(signatures) > 1:
        lines = ", ".join(str(sig.sourceline) for sig in signatures)
        raise _fail(
            Reason.WRAPPING, f"{len(signatures)} XML-DSig Signature elements (lines {lines}); exactly one expected"
        )
    for path in profile.unique_paths:
        matches = find_path(root, path)
        if len(matches) > 1:
            raise _fail(
                Reason.WRAPPING,
                f"{len(matches)} {_element_path(matches[1])} elements (second at line {matches[1].sourceline}); "
                "a signed package has exactly one",
            )
    signature = signatures[0]
    if signature.getparent() is not profile.signature_parent_of(root):
        raise _fail(
            Reason.WRAPPING,
            f"Signature is at {_element_path(signature)} (line {signature.sourceline}); "
            f"it must be a child of /{_path_text(profile)}",
        )
    return signature


def _placeholder_note(root: etree._Element) -> str:
    for element in root.iter(etree.Element):
        if local_name(element) == "Signature":
            namespace = etree.QName(element).namespace or "no namespace"
            return (
                f"; the <Signature> at line {element.sourceline} is a placeholder in {namespace}, "
                "not an XML-DSig signature"
            )
    return ""


def _algorithm(enum: type, uri: str | None, allowed: frozenset, what: str):
    try:
        value = enum(uri)
    except ValueError:
        raise _fail(Reason.ALGORITHM_NOT_ALLOWED, f"unsupported {what} {uri!r}") from None
    if value not in allowed:
        hint = " (legacy SHA-1 needs allow_sha1 / --allow-sha1)" if "sha1" in str(uri).lower() else ""
        raise _fail(Reason.ALGORITHM_NOT_ALLOWED, f"{what} {uri} is not allowed by the policy{hint}")
    return value


@dataclass(frozen=True)
class _SignedInfoFacts:
    c14n: CanonicalizationMethod
    method: SignatureMethod
    digest: DigestAlgorithm
    reference_count: int
    document_reference_index: int
    xades: bool


def _check_signed_info(signature: etree._Element, policy: VerificationPolicy) -> _SignedInfoFacts:
    signed_info = signature.find("ds:SignedInfo", _DS)
    if signed_info is None:
        raise _fail(Reason.MALFORMED_SIGNATURE, "Signature has no SignedInfo")
    c14n_el = signed_info.find("ds:CanonicalizationMethod", _DS)
    method_el = signed_info.find("ds:SignatureMethod", _DS)
    if c14n_el is None or method_el is None:
        raise _fail(Reason.MALFORMED_SIGNATURE, "SignedInfo lacks CanonicalizationMethod or SignatureMethod")
    c14n = _algorithm(CanonicalizationMethod, c14n_el.get("Algorithm"), policy.c14n_methods, "canonicalization")
    method = _algorithm(
        SignatureMethod, method_el.get("Algorithm"), policy.effective_signature_methods, "signature method"
    )
    references = signed_info.findall("ds:Reference", _DS)
    if not references:
        raise _fail(Reason.MALFORMED_SIGNATURE, "SignedInfo has no Reference")
    allowed_transforms = {SignatureConstructionMethod.enveloped.value} | {m.value for m in policy.c14n_methods}
    internal_ids = {element.get("Id") for element in signature.iter(etree.Element) if element.get("Id")}
    document_refs = []
    digest = None
    for index, reference in enumerate(references):
        digest_el = reference.find("ds:DigestMethod", _DS)
        if digest_el is None:
            raise _fail(Reason.MALFORMED_SIGNATURE, f"Reference {index} has no DigestMethod")
        ref_digest = _algorithm(
            DigestAlgorithm, digest_el.get("Algorithm"), policy.effective_digest_algorithms, "digest algorithm"
        )
        transforms = [t.get("Algorithm") for t in reference.iterfind("ds:Transforms/ds:Transform", _DS)]
        for transform in transforms:
            if transform not in allowed_transforms:
                raise _fail(
                    Reason.WRONG_REFERENCE, f"Reference {index} uses transform {transform}, which is not allowed"
                )
        uri = reference.get("URI")
        if uri == "":
            if SignatureConstructionMethod.enveloped.value not in transforms:
                raise _fail(Reason.WRONG_REFERENCE, 'Reference URI="" without the enveloped-signature transform')
            document_refs.append(index)
            digest = ref_digest
        elif uri is not None and uri.startswith("#") and uri[1:] in internal_ids:
            continue  # XAdES SignedProperties / KeyInfo: parts of the signature itself
        else:
            raise _fail(
                Reason.WRONG_REFERENCE,
                f'Reference {index} has URI={uri!r}; only URI="" (the whole document) is accepted',
            )
    if len(document_refs) != 1 or digest is None:
        raise _fail(
            Reason.WRONG_REFERENCE,
            f'expected exactly one Reference URI="" covering the whole document, found {len(document_refs)}',
        )
    xades = signature.find(f"ds:Object/{{{XADES_NS}}}QualifyingProperties", _DS) is not None
    if len(references) > 1 and not xades:
        raise _fail(Reason.WRONG_REFERENCE, f"{len(references)} References; exactly one expected")
    return _SignedInfoFacts(c14n, method, digest, len(references), document_refs[0], xades)


def _certificates(signature: etree._Element, policy: VerificationPolicy) -> list[x509.Certificate]:
    elements = signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _DS)
    if not elements:
        raise _fail(Reason.MALFORMED_SIGNATURE, "KeyInfo carries no X509Data/X509Certificate")
    if len(elements) > policy.max_certificates:  # counted before any certificate is decoded
        raise _fail(
            Reason.TOO_MANY_CERTIFICATES,
            f"KeyInfo carries {len(elements)} certificates; at most {policy.max_certificates} are accepted",
        )
    certs = []
    for element in elements:
        try:
            certs.append(x509.load_der_x509_certificate(base64.b64decode("".join((element.text or "").split()))))
        except (binascii.Error, ValueError) as exc:
            raise _fail(
                Reason.MALFORMED_SIGNATURE, f"X509Certificate at line {element.sourceline} is unreadable: {exc}"
            ) from exc
    return certs


def _check_key_type(leaf: x509.Certificate, method: SignatureMethod) -> None:
    key = leaf.public_key()
    if method.name.startswith("ECDSA_") and not isinstance(key, ec.EllipticCurvePublicKey):
        raise _fail(Reason.SIGNATURE_INVALID, f"SignatureMethod {method.name} but the certificate has a non-EC key")
    if method.name.startswith("RSA_") and not isinstance(key, rsa.RSAPublicKey):
        raise _fail(Reason.SIGNATURE_INVALID, f"SignatureMethod {method.name} but the certificate has a non-RSA key")


def _location(profile: DocumentProfile) -> str:
    # signxml appends "ds:Signature" to this ElementPath; Clark names keep it prefix-independent.
    return "./" + "".join(f"{step}/" for step in profile.signature_parent)


def _crypto_verify(
    root: etree._Element,
    texts: bigtext.Texts,
    leaf: x509.Certificate,
    facts: _SignedInfoFacts,
    policy: VerificationPolicy,
    profile: DocumentProfile,
) -> tuple[bigtext.Parts, dt.datetime | None]:
    """The signature checked by signxml on ``root`` itself; the canonical bytes of the document
    reference (parsed by the caller once ``root`` is released) and the XAdES signing time.
    ``texts``: what ``bigtext.parse_hollow`` kept out of ``root``."""
    common = {
        "location": _location(profile),
        "expect_references": facts.reference_count,
        "signature_methods": frozenset({facts.method}),
        "digest_algorithms": policy.effective_digest_algorithms,
        "verification_time": policy.verification_time,
    }
    verifier = OneTreeXAdESVerifier() if facts.xades else OneTreeVerifier()
    verifier.texts = texts
    try:
        if facts.xades:
            results = verifier.verify(
                root, x509_cert=leaf, parser=hardened_parser(), expect_config=XAdESSignatureConfiguration(**common)
            )
        else:
            result = verifier.verify(
                root, x509_cert=leaf, parser=hardened_parser(), expect_config=SignatureConfiguration(**common)
            )
            results = [result] if not isinstance(result, list) else result
    except InvalidDigest as exc:
        raise _fail(
            Reason.DIGEST_MISMATCH,
            f"the signed content was changed after signing ({exc}); "
            "header text, attachments and even whitespace/indentation are covered",
        ) from exc
    except InvalidCertificate as exc:
        raise _fail(Reason.UNTRUSTED_CHAIN, str(exc)) from exc
    except InvalidSignature as exc:
        raise _fail(
            Reason.SIGNATURE_INVALID,
            "SignatureValue does not verify with the signer certificate: SignedInfo was altered "
            f"(e.g. the package was re-indented) or the certificate is not the signer's ({exc})",
        ) from exc
    except (InvalidInput, SignXMLException, etree.DocumentInvalid) as exc:
        raise _fail(Reason.MALFORMED_SIGNATURE, str(exc)) from exc

    document = results[facts.document_reference_index]
    signing_time = None
    for result in results:
        if isinstance(result, XAdESVerifyResult):
            time_el = result.signed_properties.find(f"{{{XADES_NS}}}SigningTime")
            if time_el is not None and time_el.text:
                try:
                    signing_time = dt.datetime.fromisoformat(time_el.text.strip().replace("Z", "+00:00"))
                except ValueError as exc:
                    raise _fail(
                        Reason.MALFORMED_SIGNATURE, f"XAdES SigningTime {time_el.text!r} is not a date"
                    ) from exc
    return verifier.signed_parts or (document.signed_data,), signing_time


def _signed_tree(signed_parts: bigtext.Parts) -> etree._Element:
    """The canonical bytes that were digested, parsed (with signxml's parser, as it would)."""
    try:
        return bigtext.parse_parts(signed_parts, hardened_parser())
    except etree.XMLSyntaxError:
        raise _fail(Reason.WRAPPING, "the signed data is not an XML document") from None


def _signer_organisations(leaf: x509.Certificate, fingerprint: str, policy: VerificationPolicy) -> set[str]:
    orgs = {organ_id for organ_id, fps in policy.org_cert_map.items() if fingerprint in fps}
    subject_id = organ_id_of(leaf)
    if policy.trust_subject_organ_id and subject_id:
        orgs.add(subject_id)
    return orgs


def _check_sender(
    sender: str | None, leaf: x509.Certificate, fingerprint: str, policy: VerificationPolicy, profile: DocumentProfile
) -> str | None:
    """Return the OrganId the signer is accepted for (None when the profile names no sender)."""
    signer_orgs = _signer_organisations(leaf, fingerprint, policy)
    if profile.sender_path is None or not policy.check_sender:
        return min(signer_orgs) if signer_orgs else None
    if sender is None:
        raise _fail(Reason.SIGNER_MISMATCH, "the signed document names no sender OrganId")
    pins = policy.pinned_signers.get(sender)
    if pins is not None:
        if fingerprint not in pins:
            raise _fail(
                Reason.PINNED_SIGNER_MISMATCH,
                f"sender {sender} is pinned to other certificate(s); signer {subject_text(leaf)} "
                f"has SHA-256 {fingerprint}",
            )
        return sender
    if sender not in signer_orgs:
        raise _fail(
            Reason.SIGNER_MISMATCH,
            f"package sender is {sender} but the signer certificate ({subject_text(leaf)}) speaks for "
            f"{', '.join(sorted(signer_orgs)) or 'no configured organisation'}",
        )
    return sender


def _covered(signed_root: etree._Element) -> str:
    parts = ", ".join(local_name(child) for child in signed_root.iterchildren(etree.Element))
    return f'the whole document (Reference URI="", enveloped): {local_name(signed_root)} [{parts}]'


def verify_xml(
    xml_bytes: bytes, policy: VerificationPolicy, profile: DocumentProfile | None = EDXML_PROFILE
) -> VerifiedPackage:
    """Verify the enveloped signature of a document of the given profile - or, with ``None``,
    of whichever known profile (``PROFILES``) its root element names. Raises
    ``SignatureVerificationError`` with a reason code on the first failed check."""
    if len(xml_bytes) > policy.max_bytes:
        raise _fail(Reason.DOCUMENT_TOO_LARGE, f"{len(xml_bytes)} bytes, above the policy limit of {policy.max_bytes}")
    try:
        root, texts = bigtext.parse_hollow(xml_bytes)  # attachments kept out of the tree
    except UnsafeXMLError as exc:
        raise _fail(Reason.MALFORMED_XML, str(exc)) from exc
    if profile is None:
        profile = profile_for(root)
        if profile is None:
            known = "; ".join(f"{p.root} ({p.name})" for p in PROFILES)
            raise _fail(Reason.WRONG_DOCUMENT, f"root element is {root.tag}, expected one of: {known}")
    signature = _locate_signature(root, profile)
    if signature is None:
        message = f"no XML-DSig Signature{_placeholder_note(root)}"
        if policy.require_signature:
            raise _fail(Reason.UNSIGNED, message)
        if texts:  # the caller reads this tree: whole
            root = parse_document(xml_bytes)
        return VerifiedPackage(
            signed=False,
            signed_parts=(xml_bytes,),
            signed_root=root,
            sender_organ_id=profile.sender_of(root),
            covered=message,
            document=profile.name,
        )
    facts = _check_signed_info(signature, policy)
    signer: ValidatedSigner = validate_signer(_certificates(signature, policy), policy)
    _check_key_type(signer.leaf, facts.method)
    signed_parts, signing_time = _crypto_verify(root, texts, signer.leaf, facts, policy, profile)
    # Only what was signed is read from here on; the received tree (a copy of the package) goes
    # before the signed bytes are parsed into the next one.
    del root, signature, texts
    signed_root = _signed_tree(signed_parts)
    if signed_root.tag != profile.root:
        raise _fail(Reason.WRAPPING, f"the signed data is a {signed_root.tag}, not a {profile.root}")
    fingerprint = fingerprint_sha256(signer.leaf)
    sender = profile.sender_of(signed_root)
    accepted_org = _check_sender(sender, signer.leaf, fingerprint, policy, profile)
    return VerifiedPackage(
        signed=True,
        signed_parts=signed_parts,
        signed_root=signed_root,
        sender_organ_id=sender,
        signer_subject=subject_text(signer.leaf),
        signer_organ_id=accepted_org,
        signer_organ_name=organ_name_of(signer.leaf),
        signer_fingerprint=fingerprint,
        serial=f"{signer.leaf.serial_number:x}",
        not_before=signer.leaf.not_valid_before_utc,
        not_after=signer.leaf.not_valid_after_utc,
        chain=tuple(subject_text(cert) for cert in signer.chain),
        algorithm=facts.method.value.rsplit("#", 1)[-1],
        digest_algorithm=facts.digest.value.rsplit("#", 1)[-1],
        canonicalization=facts.c14n.value,
        signing_time=signing_time,
        covered=_covered(signed_root),
        revocation=signer.revocation,
        verified_at=policy.verification_time,
        xades=facts.xades,
        document=profile.name,
    )


def verify_package(xml_bytes: bytes, policy: VerificationPolicy) -> VerifiedPackage:
    """Verify a signed edXML package (Signature as a child of ``edXMLHeader``)."""
    return verify_xml(xml_bytes, policy, EDXML_PROFILE)
