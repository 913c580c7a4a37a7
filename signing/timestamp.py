"""RFC 3161 time-stamps over the evidence chain's signed heads (``rfc3161-client``).

``request_timestamp`` asks a time-stamping authority (TSA) over HTTP; ``verify_timestamp``
checks a stored response offline: the TSA's signature and certificate chain up to a trust
anchor, the critical id-kp-timeStamping usage, and that it covers exactly the given bytes.

The TSA's bytes are kept as it sent them (``openssl ts -verify`` reads them by hand). Many TSAs
(OpenSSL's ``ts -reply`` with ``certs``, among others) send the token's ``certificates`` SET in
issuing order rather than DER's sorted order, which ``rfc3161-client``'s strict DER parser refuses
(``InvalidSetOrdering``). That set is outside what the TSA signs, so ``_der`` re-encodes it in
DER order (``asn1crypto``) before parsing; the signature still covers the same token.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import requests
from asn1crypto import cms, tsp
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from .errors import SigningError


class TimestampError(SigningError):
    """The TSA could not be reached, refused, or answered something that does not fit the request."""


def _der(response_der: bytes) -> bytes:
    """The response with its token's certificate set in DER (sorted) order; see the module doc."""
    try:
        response = tsp.TimeStampResp.load(response_der)
        token = response["time_stamp_token"]
        if token.native is None:
            return response_der
        signed_data = token["content"]
        certificates = signed_data["certificates"]
        if not certificates:
            return response_der
        ordered = sorted(certificates, key=lambda c: c.dump())
        if [c.dump() for c in ordered] == [c.dump() for c in certificates]:
            return response_der
        signed_data["certificates"] = cms.CertificateSet(ordered)
        return response.dump(force=True)
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"time-stamp response is not DER/BER ASN.1: {exc}") from exc


def request_timestamp(data: bytes, tsa_url: str, timeout: float) -> bytes:
    """A TimeStampResp (DER) over SHA-256 of ``data``, checked against the request (nonce, imprint)."""
    builder = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256)
    request = builder.nonce(nonce=True).cert_request(cert_request=True).build()
    session = requests.Session()
    session.trust_env = False  # a configured TSA is called as configured, never through env proxies
    try:
        answer = session.post(
            tsa_url,
            data=request.as_bytes(),
            headers={"Content-Type": "application/timestamp-query"},
            timeout=timeout,
        )
        answer.raise_for_status()
        response = decode_timestamp_response(_der(answer.content))
    except (requests.RequestException, ValueError) as exc:
        raise TimestampError(f"time-stamping authority {tsa_url}: {exc}") from exc
    if PKIStatus(response.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"time-stamping authority {tsa_url} refused: status {response.status}")
    if response.tst_info.nonce != request.nonce:
        raise TimestampError(f"time-stamping authority {tsa_url} answered another request (nonce differs)")
    if response.tst_info.message_imprint.message != hashlib.sha256(data).digest():
        raise TimestampError(f"time-stamping authority {tsa_url} stamped other data (message imprint differs)")
    return answer.content


def verify_timestamp(
    response_der: bytes, data: bytes, roots: list[x509.Certificate], intermediates: list[x509.Certificate] = ()
) -> dt.datetime:
    """The time the TSA attests for ``data``; raises ``TimestampError`` when anything fails."""
    try:
        response = decode_timestamp_response(_der(response_der))
        builder = VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        for certificate in intermediates:
            builder = builder.add_intermediate_certificate(certificate)
        builder.build().verify_message(response, data)
    except (VerificationError, ValueError) as exc:
        raise TimestampError(f"time-stamp does not verify: {exc}") from exc
    return response.tst_info.gen_time
