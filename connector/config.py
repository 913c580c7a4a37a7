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


@dataclass(frozen=True)
class DeliverySettings:
    """The outbox worker (push delivery to partner systems)."""

    enabled: bool = True  # run a worker thread inside the server
    poll_interval: float = 0.5  # seconds between looks at the outbox when idle
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 8  # then the item is dead-lettered
    backoff_base: float = 1.0  # seconds; attempt n waits base * 2**(n-1), with jitter
    backoff_max: float = 300.0
    lease_seconds: float = 120.0  # a claimed item returns to the queue if its worker dies


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8080
    # The address written into the served WSDL; never taken from a request's Host header.
    public_url: str | None = None
    database_url: str | None = None  # default: SQLite file in data_dir
    # A 50 MB file is ~67 MB as a package (zip + base64) and ~90 MB as a SOAP request (base64 again).
    max_package_bytes: int = 72 * MiB
    max_request_bytes: int = 100 * MiB
    keys_dir: Path | None = None  # default: data_dir/keys (development keys made on first run)
    # The connector's own signing identity for receipts; default: the development key set's.
    # PEM key + certificate (+ chain), or PKCS#12; a password only from an env var or a file.
    identity_key: Path | None = None
    identity_cert: Path | None = None
    identity_chain: Path | None = None
    identity_p12: Path | None = None
    identity_password_env: str | None = None
    identity_password_file: Path | None = None
    # Which certificates speak for which organisation: a JSON file {"OrganId": ["sha256", ...]}
    # (or a keys-init orgs.json), and pins that allow only the listed certificates for a sender.
    org_map: Path | None = None
    pinned_signers: dict[str, list[str]] = field(default_factory=dict)
    require_revocation_info: bool = False  # every certificate needs a CRL from its issuer
    trust: tuple[Path, ...] = ()  # CA files; default: the development CA
    crls: tuple[Path, ...] = ()
    allow_sha1: bool = False  # legacy senders only
    require_signature: bool = True
    organ_id_exceptions: tuple[str, ...] = ("vxp.saas.*",)
    directory_file: Path | None = None  # imported at start-up when the directory is empty
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

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
