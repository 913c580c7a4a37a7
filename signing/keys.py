"""Loading signing identities (private key + certificate chain) and the development key set.

Keys are loaded once per process by the caller and passed around as ``SigningIdentity``
objects: signxml re-validates a PEM key on every ``sign()`` call (~40 ms for RSA), while a
preloaded key object costs nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from .certs import fingerprint_sha256, normalize_fingerprint, organ_id_of, organ_name_of
from .errors import KeyMaterialError
from .pki import CertificateRequest, PrivateKey, create_root_ca, generate_key, issue_signing_certificate


@dataclass(frozen=True)
class SigningIdentity:
    """A private key with its certificate (and intermediates) and the organisation it speaks for."""

    private_key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()
    """Intermediate (and optionally root) certificates, leaf first order not required."""
    organ_id: str | None = None
    organ_name: str | None = None

    def __post_init__(self) -> None:
        # Accept any sequence for convenience but store a tuple: identities are shared read-only.
        object.__setattr__(self, "chain", tuple(self.chain))
        if self.private_key.public_key().public_numbers() != self.certificate.public_key().public_numbers():
            raise KeyMaterialError("the private key does not belong to the certificate")

    @classmethod
    def from_certificate(
        cls, private_key: PrivateKey, certificate: x509.Certificate, chain: Sequence[x509.Certificate] = ()
    ) -> SigningIdentity:
        """Build an identity, reading the OrganId and name from the certificate subject."""
        return cls(
            private_key=private_key,
            certificate=certificate,
            chain=tuple(chain),
            organ_id=organ_id_of(certificate),
            organ_name=organ_name_of(certificate),
        )

    @classmethod
    def from_pem(
        cls,
        key_path: str | Path,
        cert_path: str | Path,
        chain_path: str | Path | None = None,
        password: bytes | None = None,
    ) -> SigningIdentity:
        key = load_private_key_pem(Path(key_path), password)
        certs = load_certificates_pem(Path(cert_path))
        chain = load_certificates_pem(Path(chain_path)) if chain_path is not None else []
        # A cert file may already hold the chain after the leaf (common "fullchain" layout).
        return cls.from_certificate(key, certs[0], [*certs[1:], *chain])

    @classmethod
    def from_pkcs12(cls, path: str | Path, password: bytes | None) -> SigningIdentity:
        try:
            bundle = pkcs12.load_pkcs12(Path(path).read_bytes(), password)
        except OSError as exc:
            raise KeyMaterialError(f"cannot read {path}: {exc.strerror}") from exc
        except ValueError as exc:
            raise KeyMaterialError(f"cannot open PKCS#12 {path} (wrong password or corrupt file)") from exc
        if bundle.key is None or bundle.cert is None:
            raise KeyMaterialError(f"PKCS#12 {path} does not contain both a private key and its certificate")
        key = bundle.key
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise KeyMaterialError(f"PKCS#12 {path}: only RSA and ECDSA keys are supported")
        return cls.from_certificate(key, bundle.cert.certificate, [c.certificate for c in bundle.additional_certs])


def load_password(env_var: str | None = None, file: str | Path | None = None) -> bytes | None:
    """Read a key password from an environment variable or a file (never from a command line).

    Returns None when neither source is given (unencrypted key). A trailing newline in the
    file is dropped because editors add one.
    """
    if env_var is not None and file is not None:
        raise KeyMaterialError("give the password either by environment variable or by file, not both")
    if env_var is not None:
        value = os.environ.get(env_var)
        if value is None:
            raise KeyMaterialError(f"environment variable {env_var} is not set")
        return value.encode()
    if file is not None:
        try:
            return Path(file).read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise KeyMaterialError(f"cannot read password file {file}: {exc.strerror}") from exc
    return None


def load_private_key_pem(path: Path, password: bytes | None = None) -> PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(data, password)
    except (ValueError, TypeError) as exc:
        raise KeyMaterialError(f"cannot load private key {path}: {exc}") from exc
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyMaterialError(f"{path}: only RSA and ECDSA keys are supported")
    return key


def load_certificates_pem(path: Path) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise KeyMaterialError(f"{path} does not contain PEM certificates: {exc}") from exc
    return certs


def load_crls(paths: Sequence[str | Path]) -> list[x509.CertificateRevocationList]:
    """Load CRL files in PEM or DER form."""
    crls = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise KeyMaterialError(f"cannot read CRL {path}: {exc.strerror}") from exc
        try:
            if b"-----BEGIN X509 CRL-----" in data:
                crls.append(x509.load_pem_x509_crl(data))
            else:
                crls.append(x509.load_der_x509_crl(data))
        except ValueError as exc:
            raise KeyMaterialError(f"{path} is not a CRL: {exc}") from exc
    return crls


# --- Development key set -------------------------------------------------------------------


@dataclass(frozen=True)
class OrgSpec:
    """An organisation to create a development signing identity for."""

    organ_id: str
    organ_name: str
    alias: str | None = None
    """Short handle, e.g. ``connector`` for the connector's own receipt-signing identity."""
    key_algorithm: str = "rsa"


CONNECTOR_ORG = OrgSpec("000.00.99.H31", "Kết nối liên thông một cửa – QLVB", alias="connector")

DEFAULT_ORGS: tuple[OrgSpec, ...] = (
    OrgSpec("000.00.00.H31", "UBND tỉnh Hưng Yên"),
    OrgSpec("000.00.31.H31", "Sở Tư pháp tỉnh Hưng Yên"),
    OrgSpec("000.00.12.H31", "Văn phòng UBND tỉnh Hưng Yên"),
    OrgSpec("001.00.31.H31", "UBND huyện Văn Lâm (Văn phòng HĐND-UBND huyện)"),
    OrgSpec("002.00.31.H31", "UBND huyện Văn Giang (Văn phòng HĐND-UBND huyện)"),
    CONNECTOR_ORG,
)
"""The sample agencies of the integration guide (Hưng Yên, H31) plus the connector itself."""


def read_org_specs(path: str | Path) -> list[OrgSpec]:
    """Read ``[{"organ_id": ..., "organ_name": ..., "alias"?: ..., "key_algorithm"?: ...}, ...]``."""
    try:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
        return [OrgSpec(**item) for item in items]
    except (OSError, ValueError, TypeError) as exc:
        raise KeyMaterialError(f"cannot read organisations from {path}: {exc}") from exc


@dataclass(frozen=True)
class OrgEntry:
    organ_id: str
    organ_name: str
    alias: str | None
    key_file: str
    cert_file: str
    sha256: str


@dataclass
class DevKeyLayout:
    """The files written by ``init_dev_keys`` and a loader for the identities in them."""

    directory: Path
    orgs: dict[str, OrgEntry]
    _identities: dict[str, SigningIdentity] = field(default_factory=dict, repr=False)

    @property
    def ca_path(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key_path(self) -> Path:
        return self.directory / "ca.key.pem"

    @property
    def orgs_path(self) -> Path:
        return self.directory / "orgs.json"

    @property
    def trust_store(self) -> list[x509.Certificate]:
        return load_certificates_pem(self.ca_path)

    def org_cert_map(self) -> dict[str, frozenset[str]]:
        """organ_id → fingerprints, in the form ``VerificationPolicy.org_cert_map`` takes."""
        return {entry.organ_id: frozenset({entry.sha256}) for entry in self.orgs.values()}

    def _entry(self, organ_id_or_alias: str) -> OrgEntry:
        if organ_id_or_alias in self.orgs:
            return self.orgs[organ_id_or_alias]
        for entry in self.orgs.values():
            if entry.alias == organ_id_or_alias:
                return entry
        raise KeyMaterialError(f"no development identity for {organ_id_or_alias!r} in {self.directory}")

    def identity(self, organ_id: str) -> SigningIdentity:
        """The identity for an OrganId (or alias such as ``connector``), loaded once per layout."""
        entry = self._entry(organ_id)
        if entry.organ_id not in self._identities:
            self._identities[entry.organ_id] = SigningIdentity.from_pem(
                self.directory / entry.key_file, self.directory / entry.cert_file
            )
        return self._identities[entry.organ_id]


def _write_private(path: Path, data: bytes) -> None:
    # Create with 0600 from the start rather than chmod afterwards (no window where others can read).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _pem_key(key: PrivateKey) -> bytes:
    # Development keys are stored unencrypted on purpose (the embedded server must start
    # unattended); production keys come from PKCS#12 with a password from env/file.
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def init_dev_keys(directory: Path, orgs: Sequence[OrgSpec] | None = None) -> DevKeyLayout:
    """Create (or reuse) a development root CA and one signing identity per organisation.

    Idempotent: an existing CA and existing identities are kept; only organisations not yet
    in ``orgs.json`` get new keys. Files: ``ca.pem``, ``ca.key.pem``, ``<organ_id>.key.pem``,
    ``<organ_id>.cert.pem`` and ``orgs.json`` (organ_id → name, alias, files, SHA-256).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # The connector and the simulators may start together on one key directory: serialise,
    # or one process's orgs.json would overwrite another's.
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _init_dev_keys_locked(directory, orgs)


def _init_dev_keys_locked(directory: Path, orgs: Sequence[OrgSpec] | None) -> DevKeyLayout:
    wanted = list(orgs) if orgs is not None else list(DEFAULT_ORGS)
    layout = DevKeyLayout(directory=directory, orgs=_read_layout_orgs(directory / "orgs.json"))

    if layout.ca_path.exists() and layout.ca_key_path.exists():
        ca_key = load_private_key_pem(layout.ca_key_path)
        ca_cert = load_certificates_pem(layout.ca_path)[0]
    else:
        ca_key = generate_key("rsa")
        ca_cert = create_root_ca(ca_key)
        _write_private(layout.ca_key_path, _pem_key(ca_key))
        layout.ca_path.write_bytes(_pem_cert(ca_cert))
        layout.orgs.clear()  # identities issued by a lost CA are useless

    for spec in wanted:
        if spec.organ_id in layout.orgs:
            continue
        key = generate_key(spec.key_algorithm)
        cert = issue_signing_certificate(
            ca_key, ca_cert, key.public_key(), CertificateRequest(spec.organ_id, spec.organ_name)
        )
        entry = OrgEntry(
            organ_id=spec.organ_id,
            organ_name=spec.organ_name,
            alias=spec.alias,
            key_file=f"{spec.organ_id}.key.pem",
            cert_file=f"{spec.organ_id}.cert.pem",
            sha256=fingerprint_sha256(cert),
        )
        _write_private(directory / entry.key_file, _pem_key(key))
        (directory / entry.cert_file).write_bytes(_pem_cert(cert))
        layout.orgs[spec.organ_id] = entry

    layout.orgs_path.write_text(
        json.dumps({k: vars(v) for k, v in layout.orgs.items()}, ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    return layout


def load_dev_keys(directory: Path) -> DevKeyLayout:
    """Open an existing development key set without creating anything."""
    orgs_path = Path(directory) / "orgs.json"
    if not orgs_path.exists():
        raise KeyMaterialError(f"{directory} has no orgs.json: run `python -m signing keys init {directory}`")
    return DevKeyLayout(directory=Path(directory), orgs=_read_layout_orgs(orgs_path))


def _read_layout_orgs(path: Path) -> dict[str, OrgEntry]:
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {organ_id: OrgEntry(**entry) for organ_id, entry in raw.items()}
    except (ValueError, TypeError) as exc:
        raise KeyMaterialError(f"{path} is not a valid orgs.json: {exc}") from exc


def read_org_cert_map(path: str | Path) -> dict[str, frozenset[str]]:
    """Read an organisation ↔ certificate map from an ``orgs.json`` written by ``keys init``
    or a plain ``{"organ_id": ["sha256", ...]}`` JSON file."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyMaterialError(f"cannot read organisation map {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise KeyMaterialError(f"{path}: expected a JSON object keyed by OrganId")
    result: dict[str, frozenset[str]] = {}
    for organ_id, value in raw.items():
        if isinstance(value, dict) and "sha256" in value:
            fingerprints = [value["sha256"]]
        elif isinstance(value, list):
            fingerprints = value
        else:
            raise KeyMaterialError(f"{path}: entry {organ_id!r} has no sha256 fingerprint(s)")
        result[organ_id] = frozenset(normalize_fingerprint(str(fp)) for fp in fingerprints)
    return result
