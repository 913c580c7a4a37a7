"""RFC 3161 time-stamps over the evidence chain's signed heads (``rfc3161-client``).

``request_timestamp`` asks a time-stamping authority (TSA) over HTTP; ``verify_timestamp``
checks a stored response offline: the TSA's signature and certificate chain up to a trust
anchor, the critical id-kp-timeStamping usage, and that it covers exactly the given bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import requests
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
        response = decode_timestamp_response(answer.content)
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
        response = decode_timestamp_response(response_der)
        builder = VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        for certificate in intermediates:
            builder = builder.add_intermediate_certificate(certificate)
        builder.build().verify_message(response, data)
    except (VerificationError, ValueError) as exc:
        raise TimestampError(f"time-stamp does not verify: {exc}") from exc
    return response.tst_info.gen_time
