"""``python -m signing``: sign, verify, and create development keys.

Exit codes: 0 = success / valid signature; 1 = the package is not valid (reason printed);
2 = bad usage or unreadable input (keys, trust store, files). Never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from cryptography.hazmat.primitives.asymmetric import ec

from .bundle import verify_bundle
from .errors import KeyMaterialError, SignatureVerificationError, SigningError
from .keys import (
    SigningIdentity,
    init_dev_keys,
    load_certificates_pem,
    load_password,
    read_org_cert_map,
    read_org_specs,
)
from .pin import ANY_SIGNER, SignerPin
from .policy import VerificationPolicy
from .sign import Algorithm, SigningOptions, sign_package
from .verify import VerifiedPackage, verify_xml

# Package timestamps are Vietnamese local time; Vietnam has no daylight saving time.
VIETNAM_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(SigningError):
    """Bad arguments or unreadable input; reported in one line with exit code 2."""


def _parse_at(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {value!r}") from exc
    return moment.replace(tzinfo=VIETNAM_TIME) if moment.tzinfo is None else moment


def _parse_pin(value: str) -> tuple[str, str]:
    organ_id, sep, fingerprint = value.partition("=")
    if not sep or not organ_id or not fingerprint:
        raise argparse.ArgumentTypeError("expected ORGAN_ID=SHA256")
    return organ_id, fingerprint


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m signing", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    sign = commands.add_parser("sign", help="sign an edXML package (enveloped XML-DSig in edXMLHeader)")
    sign.add_argument("input", type=Path, metavar="IN")
    sign.add_argument("--out", type=Path, required=True, metavar="OUT")
    sign.add_argument("--key", type=Path, metavar="KEY.pem")
    sign.add_argument("--cert", type=Path, metavar="CERT.pem")
    sign.add_argument("--chain", type=Path, metavar="CHAIN.pem")
    sign.add_argument("--p12", type=Path, metavar="FILE")
    sign.add_argument("--password-env", metavar="VAR", help="environment variable holding the key password")
    sign.add_argument("--password-file", type=Path, metavar="FILE", help="file holding the key password")
    sign.add_argument("--algorithm", choices=["rsa-sha256", "ecdsa-sha256"], default=None)
    sign.add_argument("--xades", action="store_true", help="add XAdES-BES SigningTime and SigningCertificateV2")
    sign.add_argument("--no-chain", action="store_true", help="put only the signer certificate in X509Data")
    sign.add_argument(
        "--allow-sender-mismatch",
        action="store_true",
        help="sign even if From/OrganId is not the certificate's OrganId (receivers will reject it)",
    )

    verify = commands.add_parser("verify", help="verify a signed package or connector receipt and print a verdict")
    verify.add_argument("input", type=Path, metavar="FILE")
    verify.add_argument("--trust", type=Path, action="append", required=True, metavar="CA.pem")
    verify.add_argument("--crl", type=Path, action="append", default=[], metavar="FILE")
    verify.add_argument("--require-crl", action="store_true", help="fail when a certificate's issuer has no CRL")
    verify.add_argument("--at", type=_parse_at, help="verification time; without offset: Vietnam time (UTC+07)")
    verify.add_argument("--allow-sha1", action="store_true", help="accept legacy RSA-SHA1/SHA-1 signatures")
    verify.add_argument("--org-map", type=Path, metavar="orgs.json", help="organisation ↔ certificate map")
    verify.add_argument("--pin", type=_parse_pin, action="append", default=[], metavar="ORGAN_ID=SHA256")
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")

    bundle = commands.add_parser("verify-bundle", help="verify an evidence bundle offline (docs/evidence.md)")
    bundle.add_argument("input", type=Path, metavar="BUNDLE.zip")
    bundle.add_argument(
        "--trust",
        type=Path,
        action="append",
        required=True,
        metavar="CA.pem",
        help="trust anchors: the connector's and senders' CA, the time-stamping authority's CA",
    )
    who = bundle.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--connector-cert",
        type=Path,
        metavar="CERT.pem",
        help="the connector's certificate: the head, manifest and receipts must be signed with exactly it",
    )
    who.add_argument(
        "--connector",
        metavar="ORGAN_ID",
        help="the connector's OrganId: they must be signed by a trusted certificate of that OrganId",
    )
    who.add_argument(
        "--any-signer",
        action="store_true",
        help="accept any trusted signer (unsafe: any partner under the same CA could have signed; prints a warning)",
    )
    bundle.add_argument(
        "--require-timestamp", action="store_true", help="fail unless the signed head carries an RFC 3161 time-stamp"
    )
    bundle.add_argument("--json", action="store_true", help="print the verdict as JSON")

    keys = commands.add_parser("keys", help="development key material")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    init = key_commands.add_parser("init", help="create a development CA and one identity per organisation")
    init.add_argument("directory", type=Path, metavar="DIR")
    init.add_argument("--orgs", type=Path, metavar="FILE.json")
    return parser


def _load_identity(args: argparse.Namespace) -> SigningIdentity:
    password = load_password(args.password_env, args.password_file)
    if args.p12 is not None:
        if args.key or args.cert or args.chain:
            raise UsageError("use either --p12 or --key/--cert[/--chain], not both")
        return SigningIdentity.from_pkcs12(args.p12, password)
    if args.key is None or args.cert is None:
        raise UsageError("signing needs --key and --cert (or --p12)")
    return SigningIdentity.from_pem(args.key, args.cert, args.chain, password)


def _read_input(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


def _default_algorithm(identity: SigningIdentity) -> Algorithm:
    return "ecdsa-sha256" if isinstance(identity.private_key, ec.EllipticCurvePrivateKey) else "rsa-sha256"


def _cmd_sign(args: argparse.Namespace, out: TextIO) -> int:
    identity = _load_identity(args)
    options = SigningOptions(
        algorithm=args.algorithm or _default_algorithm(identity),
        xades=args.xades,
        include_chain=not args.no_chain,
        check_sender=not args.allow_sender_mismatch,
    )
    signed = sign_package(_read_input(args.input), identity, options)
    try:
        args.out.write_bytes(signed)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror}") from exc
    who = identity.organ_id or identity.certificate.subject.rfc4514_string()
    xades = ", XAdES-BES" if options.xades else ""
    print(f"signed {args.input} as {who} ({options.algorithm}{xades}) -> {args.out}", file=out)
    return EXIT_OK


def _policy(args: argparse.Namespace) -> VerificationPolicy:
    return VerificationPolicy.from_paths(
        trust=args.trust,
        crls=args.crl,
        require_revocation_info=args.require_crl,
        at=args.at,
        allow_sha1=args.allow_sha1,
        org_cert_map=read_org_cert_map(args.org_map) if args.org_map else {},
        pinned_signers=_pins(args.pin),
    )


def _pins(pairs: Sequence[tuple[str, str]]) -> dict[str, frozenset[str]]:
    pins: dict[str, set[str]] = {}
    for organ_id, fingerprint in pairs:
        pins.setdefault(organ_id, set()).add(fingerprint)
    return {organ_id: frozenset(fps) for organ_id, fps in pins.items()}


def _verdict_json(result: VerifiedPackage) -> dict[str, object]:
    return {
        "valid": True,
        "reason": None,
        "document": result.document,
        "signer": result.signer_subject,
        "organ_id": result.signer_organ_id,
        "organ_name": result.signer_organ_name,
        "sender_organ_id": result.sender_organ_id,
        "certificate": {
            "serial": result.serial,
            "sha256": result.signer_fingerprint,
            "not_before": result.not_before.isoformat() if result.not_before else None,
            "not_after": result.not_after.isoformat() if result.not_after else None,
        },
        "chain": list(result.chain),
        "algorithm": result.algorithm,
        "digest_algorithm": result.digest_algorithm,
        "canonicalization": result.canonicalization,
        "xades": result.xades,
        "signing_time": result.signing_time.isoformat() if result.signing_time else None,
        "verified_at": result.verified_at.isoformat() if result.verified_at else None,
        "covered": result.covered,
        "revocation": list(result.revocation),
        "attachments": [
            {
                "content_id": a.content_id,
                "name": a.name,
                "size": a.size,
                "sha256": a.sha256,
                "files": [{"name": m.name, "size": m.size, "sha256": m.sha256} for m in a.zip_members],
                "note": a.note,
            }
            for a in result.attachments()
        ],
    }


def _print_verdict(result: VerifiedPackage, out: TextIO) -> None:
    # A receipt names no sender: its signer is the connector itself.
    sender = f"package sender {result.sender_organ_id}" if result.sender_organ_id else "signer of the receipt"
    lines = [
        "VALID: the signature verifies and the signer is trusted",
        f"  Document:      {result.document}",
        f"  Signer:        {result.signer_subject}",
        f"  Organisation:  {result.signer_organ_id or '-'} ({result.signer_organ_name}); {sender}",
        f"  Certificate:   serial {result.serial}, SHA-256 {result.signer_fingerprint}",
        f"                 valid {result.not_before:%Y-%m-%d %H:%M} – {result.not_after:%Y-%m-%d %H:%M} UTC, "
        f"checked at {result.verified_at.isoformat() if result.verified_at else '?'}",
        "  Chain:         " + "\n                 -> ".join(result.chain),
        f"  Algorithm:     {result.algorithm}, digest {result.digest_algorithm}, "
        f"C14N {result.canonicalization}{', XAdES-BES' if result.xades else ''}",
        f"  Signing time:  {result.signing_time.isoformat() if result.signing_time else 'not stated (no XAdES)'}",
        f"  Covered:       {result.covered}",
        "  Revocation:    " + ("\n                 ".join(result.revocation) or "nothing to check"),
    ]
    attachments = result.attachments()
    lines.append(f"  Attachments:   {len(attachments)}")
    for attachment in attachments:
        digest = f"sha256 {attachment.sha256}, {attachment.size} bytes" if attachment.sha256 else attachment.note
        lines.append(f"    - {attachment.name} [{attachment.content_id}] {digest}")
        lines.extend(f"        file {m.name}: sha256 {m.sha256}, {m.size} bytes" for m in attachment.zip_members)
        if attachment.sha256 and attachment.note:
            lines.append(f"        {attachment.note}")
    print("\n".join(lines), file=out)


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    policy = _policy(args)
    data = _read_input(args.input)
    try:
        result = verify_xml(data, policy, profile=None)  # an edXML package or a connector receipt
    except SignatureVerificationError as exc:
        if args.json:
            print(json.dumps({"valid": False, "reason": exc.reason.value, "message": exc.message}), file=out)
        else:
            print(f"INVALID ({exc.reason.value}): {exc.message}", file=out)
        return EXIT_INVALID
    if args.json:
        print(json.dumps(_verdict_json(result), ensure_ascii=False, indent=2), file=out)
    else:
        _print_verdict(result, out)
    return EXIT_OK


def _signer_pin(args: argparse.Namespace) -> SignerPin:
    if args.connector_cert is not None:
        return SignerPin.certificate_file(args.connector_cert)
    if args.connector is not None:
        return SignerPin(organ_id=args.connector)
    return ANY_SIGNER


def _cmd_verify_bundle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    trust = [cert for path in args.trust for cert in load_certificates_pem(path)]
    pin = _signer_pin(args)
    if pin.any_signer:
        print(
            "WARNING: --any-signer: the connector's signer is not pinned; any holder of a certificate under "
            "the trust anchors (a partner) could have signed this bundle",
            file=err,
        )
    verdict = verify_bundle(_read_input(args.input), trust, pin, args.require_timestamp)
    if args.json:
        print(json.dumps(verdict.as_json(), ensure_ascii=False, indent=2), file=out)
        return EXIT_OK if verdict.valid else EXIT_INVALID
    if verdict.valid:
        head = verdict.head
        print(f"VALID: every check of {args.input} passed (subject {verdict.subject})", file=out)
        print(f"  signed by: {verdict.signer}", file=out)
        if head:
            stamp = verdict.timestamp.isoformat() if verdict.timestamp else "no time-stamp"
            number = f"head {head.number}: " if head.number is not None else ""
            print(f"  signed head: {number}record {head.seq} at {head.signed_at.isoformat()} ({stamp})", file=out)
    else:
        print(f"INVALID: {len(verdict.failures)} of {len(verdict.checks)} checks failed in {args.input}", file=out)
    for check in verdict.checks:
        print(f"  {'ok  ' if check.ok else 'FAIL'} {check.where}: {check.detail}", file=out)
    return EXIT_OK if verdict.valid else EXIT_INVALID


def _cmd_keys_init(args: argparse.Namespace, out: TextIO) -> int:
    orgs = read_org_specs(args.orgs) if args.orgs else None
    layout = init_dev_keys(args.directory, orgs)
    print(f"development keys in {layout.directory} (CA: {layout.ca_path})", file=out)
    for entry in layout.orgs.values():
        alias = f" [{entry.alias}]" if entry.alias else ""
        print(f"  {entry.organ_id}{alias}  {entry.organ_name}  sha256 {entry.sha256}", file=out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "sign":
            return _cmd_sign(args, out)
        if args.command == "verify":
            return _cmd_verify(args, out)
        if args.command == "verify-bundle":
            return _cmd_verify_bundle(args, out, err)
        return _cmd_keys_init(args, out)
    except (UsageError, KeyMaterialError, SigningError, ValueError) as exc:
        # ValueError: a policy or option rejected its configuration (e.g. empty trust file).
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
