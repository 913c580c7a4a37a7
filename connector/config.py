"""Explicit configuration: one ``Settings`` object built at start-up and passed down.

Sources, later ones winning: the defaults below (the embedded default: everything under the data
directory), a TOML file (``--config FILE``), environment variables (``CONNECTOR_DATABASE_URL``,
``CONNECTOR_PUBLIC_URL``), then command-line flags. ``docs/operations.md`` lists every key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.edxml import MiB
from signing import DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class DeliverySettings:
    """The outbox worker: push delivery to partner systems (``[delivery]`` in the TOML file)."""

    enabled: bool = True
    """Run a worker thread inside the server (``python -m connector worker`` runs one alone)."""
    poll_interval: float = 0.5
    """Seconds between looks at the outbox when nothing was due."""
    connect_timeout: float = 5.0
    """Seconds to connect to a partner."""
    read_timeout: float = 30.0
    """Seconds to wait for a partner's answer (zeep's ``operation_timeout``)."""
    max_attempts: int = 8
    """Attempts before an item is dead-lettered."""
    backoff_base: float = 1.0
    """Seconds; attempt n waits base * 2**(n-1), capped at ``backoff_max``, with jitter."""
    backoff_max: float = 300.0
    lease_seconds: float = 120.0
    """A claimed item returns to the queue after this long if its worker died."""


@dataclass(frozen=True)
class Settings:
    """Everything the connector is configured with, built once at start-up (``load_settings``)
    and passed down; nothing reads configuration from anywhere else.

    The defaults are the embedded development setup: SQLite, development keys and the guide's
    sample directory, all under ``data_dir``. Production sets ``trust``, an identity and usually
    ``database_url`` and ``public_url`` (docs/operations.md). Unknown keys are refused.
    """

    data_dir: Path = Path("data")
    """SQLite database, development keys and simulator databases live here."""
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    """The address written into the served WSDL; never taken from a request's Host header."""
    database_url: str | None = None
    """SQLAlchemy URL; default: a SQLite file in ``data_dir``."""
    max_package_bytes: int = DEFAULT_MAX_BYTES
    """A 50 MB file is ~67 MB as a package (zip + base64)..."""
    max_request_bytes: int = 100 * MiB
    """...and ~90 MB as a SOAP request (base64 again)."""
    keys_dir: Path | None = None
    """Default: ``data_dir/keys`` (development keys made on first run)."""
    identity_key: Path | None = None
    """The connector's receipt-signing identity: PEM key + certificate (+ chain), or PKCS#12;
    default: the development key set's. A password only from an env var or a file."""
    identity_cert: Path | None = None
    identity_chain: Path | None = None
    identity_p12: Path | None = None
    identity_password_env: str | None = None
    identity_password_file: Path | None = None
    org_map: Path | None = None
    """Which certificates speak for which organisation: JSON ``{"OrganId": ["sha256", ...]}``
    (or a keys-init ``orgs.json``)."""
    pinned_signers: dict[str, list[str]] = field(default_factory=dict)
    """Pins: only the listed certificate fingerprints may sign for that OrganId."""
    require_revocation_info: bool = False
    """Every certificate needs a CRL from its issuer."""
    trust: tuple[Path, ...] = ()
    """CA files; default: the development CA."""
    crls: tuple[Path, ...] = ()
    allow_sha1: bool = False
    """Accept RSA-SHA1 signatures (legacy senders only)."""
    require_signature: bool = True
    organ_id_exceptions: tuple[str, ...] = ("vxp.saas.*",)
    """OrganIds accepted although they are not 13-character identifiers (glob patterns)."""
    directory_file: Path | None = None
    """Imported at start-up when the directory is empty; default: the guide's sample directory."""
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    tsa_url: str | None = None
    """RFC 3161 time-stamping authority for the evidence chain's signed heads; None: signed only."""
    tsa_timeout: float = 10.0
    """Seconds to wait for the time-stamping authority."""
    evidence_sign_interval: float = 3600.0
    """Seconds between signatures of the evidence chain's head while the server runs (when it
    moved); 0: only on demand (``evidence sign``, an export, the admin console)."""
    admin_session_minutes: float = 30.0
    """An admin console session ends this long after its login."""

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'connector.db').resolve()}"

    @property
    def effective_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"


class ConfigError(ValueError):
    """A configuration file or value that cannot be used; the message names the key."""


def load_settings(config_file: Path | None = None, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            values = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{config_file}: {exc}") from None
    env = os.environ if environ is None else environ
    if env.get("CONNECTOR_DATABASE_URL"):
        values["database_url"] = env["CONNECTOR_DATABASE_URL"]
    if env.get("CONNECTOR_PUBLIC_URL"):
        values["public_url"] = env["CONNECTOR_PUBLIC_URL"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _build(Settings, values, "")


_PATHS = {
    "data_dir",
    "keys_dir",
    "directory_file",
    "identity_key",
    "identity_cert",
    "identity_chain",
    "identity_p12",
    "identity_password_file",
    "org_map",
}


def _build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown setting {prefix}{sorted(unknown)[0]!r}")
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        default = known[name].default
        if name == "delivery":
            kwargs[name] = (
                value if isinstance(value, DeliverySettings) else _build(DeliverySettings, value, "delivery.")
            )
        elif name in ("trust", "crls"):
            kwargs[name] = tuple(Path(v) for v in value)
        elif name == "organ_id_exceptions":
            kwargs[name] = tuple(value)
        elif name == "pinned_signers":
            if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
                raise ConfigError(f"setting {prefix}{name!r} must map OrganIds to lists of SHA-256 fingerprints")
            kwargs[name] = value
        elif name in _PATHS:
            kwargs[name] = Path(value)
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"setting {prefix}{name!r} must be true or false")
        elif isinstance(default, int | float) and not isinstance(default, bool):
            try:
                kwargs[name] = type(default)(value)
            except (TypeError, ValueError):
                raise ConfigError(f"setting {prefix}{name!r} must be a number, not {value!r}") from None
        else:
            kwargs[name] = value
    return cls(**kwargs)
