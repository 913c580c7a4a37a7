"""signxml verifying on the caller's own tree, without its copies of the whole document
(``verify.verify_xml`` parses a package once and hands the tree over). Safe only with the
pinned signxml 5.2: it overrides signxml's ``get_root`` and ``_verify_reference``;
``tests/signing/test_one_tree.py`` checks the digested bytes against stock signxml's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.hazmat.primitives.hashes import Hash
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from signxml import VerifyResult, XMLVerifier
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    digest_algorithm_implementations,
)
from signxml.exceptions import InvalidDigest
from signxml.util import _remove_sig
from signxml.xades import XAdESVerifier

from . import bigtext

_ENVELOPED = SignatureConstructionMethod.enveloped.value


class _OneTree:
    """signxml on the tree ``verify_xml`` parsed, instead of its own copies of it.

    signxml 5.2 parses the document again, copies the whole tree (serialise + parse) for each
    reference and once more for the canonicalisation transform: with a 27 MB package that is
    ~8 copies at the peak. Here the tree it gets is used as it is (``get_root``), and the
    whole-document reference (``URI=""``, enveloped, at most one canonicalisation - the only
    kind ``_check_signed_info`` lets through) is canonicalised on that tree with its Signature
    detached meanwhile (signxml's own ``_remove_sig``, then put back exactly), the big texts
    spliced in by ``bigtext``. The digest is over the same canonical bytes signxml would
    compute (a serialise-and-parse copy of a parsed tree canonicalises identically); the
    canonical bytes are parsed, as signxml does, by ``verify_xml`` once this tree is released.
    Any other reference (XAdES SignedProperties) goes through signxml unchanged."""

    texts: bigtext.Texts = {}  # the big texts ``bigtext.parse_hollow`` kept out of the tree
    signed_parts: bigtext.Parts | None = None  # the whole-document reference's canonical bytes

    def get_root(self, data):  # noqa: ANN001, ANN201 - signxml's signature
        return data if isinstance(data, etree._Element) else super().get_root(data)

    def _verify_reference(self, reference, index, root, uri_resolver, c14n_algorithm, signature, signature_key_used):  # noqa: ANN001, ANN201, PLR0913 - signxml's signature
        transforms = self._find(reference, "Transforms", require=False)
        steps = self._findall(transforms, "Transform") if transforms is not None else []
        c14n = [step for step in steps if step.get("Algorithm") != _ENVELOPED]
        try:
            methods = [CanonicalizationMethod(step.get("Algorithm")) for step in c14n]
        except ValueError:  # not a canonicalisation: signxml decides
            methods = []
            c14n.append(None)
        if reference.get("URI") != "" or len(c14n) == len(steps) or len(c14n) > 1:
            return super()._verify_reference(
                reference, index, root, uri_resolver, c14n_algorithm, signature, signature_key_used
            )
        method = methods[0] if methods else self.config.default_reference_c14n_method
        prefixes = self._get_inclusive_ns_prefixes(c14n[0]) if c14n else None
        with _detached(self._get_signature(root)):
            texts = {**self.texts, **bigtext.take_out(root)}
            parts = bigtext.canonical(lambda: self._c14n(root, algorithm=method, inclusive_ns_prefixes=prefixes), texts)
            del texts
        digest_alg = DigestAlgorithm(self._find(reference, "DigestMethod").get("Algorithm"))
        self.check_digest_alg_expected(digest_alg)
        hasher = Hash(digest_algorithm_implementations[digest_alg]())  # as signxml's _get_digest, piecewise
        for part in parts:
            hasher.update(part)
        if base64.b64decode(self._find(reference, "DigestValue").text) != hasher.finalize():
            raise InvalidDigest(f"Digest mismatch for reference {index} ({reference.get('URI')})")
        self.signed_parts = parts
        if isinstance(signature_key_used, bytes):
            signature_key = signature_key_used
        else:
            signature_key = signature_key_used.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        # The canonical bytes stay in pieces (``signed_parts``), parsed by verify_xml once this tree
        # is released; signxml itself reads a result's bytes and tree only for a SignedProperties
        # reference, which this is not.
        return VerifyResult(b"", None, signature, signature_key=signature_key)


class OneTreeVerifier(_OneTree, XMLVerifier):
    pass


class OneTreeXAdESVerifier(_OneTree, XAdESVerifier):
    pass


@contextmanager
def _detached(signature: etree._Element) -> Iterator[None]:
    """The enveloped-signature transform on the tree itself, undone afterwards."""
    parent, previous = signature.getparent(), signature.getprevious()
    index, tail = parent.index(signature), signature.tail
    text = parent.text if previous is None else previous.tail
    _remove_sig(signature, idempotent=True)
    try:
        yield
    finally:
        parent.insert(index, signature)
        signature.tail = tail
        if previous is None:
            parent.text = text
        else:
            previous.tail = text
