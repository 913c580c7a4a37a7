"""Explicit configuration: one ``Settings`` object built at start-up and passed down.

Sources, later ones winning: the defaults below (the embedded default: everything under the data
directory), a TOML file (``--config FILE``), environment variables (``CONNECTOR_DATABASE_URL``,
``CONNECTOR_PUBLIC_URL``), then command-line flags. ``docs/operations.md`` lists every key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connector.edxml import MiB
from connector.errors import SimpleError
from signing import DEFAULT_MAX_BYTES

AUTO_MIGRATE = ("sqlite", "always", "never")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class PartnerPolicy:
    """How the outbox worker treats one partner system. ``[delivery]`` sets these for every
    partner; ``[delivery.partners.SYSTEM_ID]`` overrides any of them for one system."""

    concurrency: int = 4
    """Items in flight at once for this partner (each exchange's items still go out in order)."""
    backoff_base: float = 1.0
    """Seconds before the second attempt; each failure doubles the wait up to ``backoff_max``."""
    backoff_max: float = 600.0
    """The ceiling: once reached, an item is retried this often (with jitter) until the horizon."""
    retry_horizon: float = 48 * 3600.0
    """Seconds after an item was queued when a failed attempt dead-letters it instead of retrying.
    Only this, or a Client fault from the partner, makes a dead letter."""
    breaker_threshold: int = 5
    """Consecutive failed calls that open the partner's circuit breaker."""
    probe_interval: float = 30.0
    """While the breaker is open: seconds between the single probe calls."""

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.breaker_threshold < 1:
            raise ConfigError("delivery: concurrency and breaker_threshold must be at least 1")
        if min(self.backoff_base, self.backoff_max, self.retry_horizon, self.probe_interval) < 0:
            raise ConfigError("delivery: backoff, horizon and probe interval must not be negative")


@dataclass(frozen=True)
class DeliverySettings(PartnerPolicy):
    """The outbox worker (push delivery to partner systems); the ``PartnerPolicy`` fields are the
    defaults for every partner."""

    enabled: bool = True
    """Run the worker inside the server (else run ``python -m connector worker``)."""
    poll_interval: float = 5.0
    """Seconds between looks at an idle partner queue. New work wakes it at once (in the process,
    and through PostgreSQL's NOTIFY from other processes), as does a retry it scheduled itself."""
    node_id: str | None = None
    """This worker's name among the workers sharing the database, kept on the leases it takes so
    that it reclaims them at once when it restarts; default: the host name and the process's role
    (``server-PORT-SLOT``, ``worker``). Must be unique per running worker."""
    outage_max_backoff: float = 30.0
    """While the store is unavailable, delivery polls back off up to this many seconds."""
    outage_summary_interval: float = 60.0
    """While the store is unavailable, one summary line is logged this often."""
    connect_timeout: float = 5.0
    """Seconds to connect to a partner."""
    read_timeout: float = 30.0
    """Seconds to wait for a partner's answer (zeep's ``operation_timeout``)."""
    lease_seconds: float = 120.0
    """A claimed item returns to the queue this long after its claim if its worker died."""
    axis_poll_interval: float = 30.0
    """Seconds between polls of the national axis for each ``vxp`` system (0: no poller);
    docs/national-axis.md."""
    partners: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per partner system: ``PartnerPolicy`` fields that differ from the defaults."""

    def policy(self, system_id: str) -> PartnerPolicy:
        defaults = {f.name: getattr(self, f.name) for f in dataclasses.fields(PartnerPolicy)}
        return PartnerPolicy(**defaults | self.partners.get(system_id, {}))


@dataclass(frozen=True)
class GatewayAuthSettings:
    """Calls published through an API gateway (``[auth.gateway]``; docs/lgsp.md): the gateway's
    signed JWT about the calling application is believed from these addresses only."""

    trusted_proxies: tuple[str, ...] = ()
    """The gateway's addresses; empty: no assertion is ever believed (the feature is off)."""
    header: str = "X-JWT-Assertion"
    """The HTTP header the gateway puts its JWT in."""
    public_key_file: Path | None = None
    """The gateway's public key (PEM)..."""
    jwks_file: Path | None = None
    """...or its keys as a JWKS file (chosen by the JWT's ``kid``)."""
    application_claim: str = "http://wso2.org/claims/applicationname"
    """The claim naming the calling application, matched to ``systems[].gateway_application``."""
    issuer: str | None = None
    """When set, the JWT's ``iss`` must be this (WSO2: ``wso2.org/products/am``)."""
    leeway: float = 30.0
    """Seconds of clock skew allowed on ``exp``."""

    @property
    def enabled(self) -> bool:
        return bool(self.trusted_proxies)


@dataclass(frozen=True)
class AuthSettings:
    """Caller authentication (``[auth]`` in the TOML file; docs/security.md). Always on: there is
    no switch to turn it off."""

    created_window: float = 300.0
    """Seconds a UsernameToken's ``Created`` may lie either side of the server's time."""
    max_failures: int = 10
    """Failed attempts per (username, client address) within ``failure_window``; beyond that,
    that username from that address waits (``failure_delay``, growing). Only attempts whose
    password was checked and wrong count: never one refused before (Basic over plain HTTP, a
    stale ``Created``, a malformed header)."""
    max_address_failures: int = 30
    """Failed attempts per client address (an IPv6 address by its /64), whatever the usernames;
    beyond that, everything from that address waits."""
    max_username_failures: int = 100
    """Failed attempts per username from all addresses together; beyond that, the username waits
    when it is tried from outside the system's declared ``networks`` (directory:
    ``systems[].networks``) - never from inside them, and never for a system that declares none
    (there the per-address counts are the bound)."""
    failure_window: float = 300.0
    """Seconds over which failed attempts are counted."""
    failure_delay: float = 30.0
    """Seconds to wait after the failure that reached a limit, doubled by every further failure
    (attempts refused while waiting do not count), at most ``failure_window``. No account is ever
    locked: only the address (or username from elsewhere) that failed waits."""
    metrics_networks: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    """Client addresses or networks that may read ``/metrics`` without a token (the address as
    ``trusted_proxies`` rules decide it); empty: the token only."""
    metrics_token_file: Path | None = None
    """A file holding the bearer token a scraper sends (``Authorization: Bearer ...``) to read
    ``/metrics`` from any address; the environment variable ``CONNECTOR_METRICS_TOKEN`` wins."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses of TLS-terminating reverse proxies whose ``X-Forwarded-Proto``, ``X-Real-IP`` and
    ``X-SSL-Client-*`` headers are believed; from any other address those headers are ignored."""
    gateway: GatewayAuthSettings = field(default_factory=GatewayAuthSettings)
    """``[auth.gateway]``: calls published through an API gateway."""
    secret_key_file: Path | None = None
    """The key that encrypts stored passwords; default ``data_dir/secret.key`` (made on first
    use, mode 0600). The environment variable ``CONNECTOR_SECRET_KEY`` wins over the file."""


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
    large_request_bytes: int = 8 * MiB
    """Requests above this size count against ``max_large_requests`` (the memory budget)."""
    max_large_requests: int = 2
    """Large requests processed at once; the others get ``Server.Busy`` at once (retryable)."""
    stream_threshold_bytes: int = 1 * MiB
    """Requests at least this large are read in chunks, the package decoded on the way and
    only the rest of the envelope given to spyne (``connector/soap/streaming.py``)."""
    connection_limit: int = 1000
    """Open connections the server accepts at once (waitress's default of 100 lets 100 clients
    that send half a request stall everyone else)."""
    channel_timeout: float = 30.0
    """Seconds after which a silent connection (such as one that sent half a request) is closed."""
    header_timeout: float = 10.0
    """Seconds a connection may take to send a complete request head (from its opening, or from
    the end of its previous answer on a kept-alive connection); then it is closed."""
    max_connections_per_address: int = 50
    """Open connections from one client address (the TCP peer; ``auth.trusted_proxies`` are
    exempt); more are closed as they arrive (0: no cap)."""
    shutdown_grace: float = 20.0
    """On SIGTERM the listening socket closes at once; requests already being served get this
    many seconds to finish, then the delivery threads stop (a partner call in flight is
    abandoned: its item is retried, as after a crash)."""
    min_free_disk_bytes: int = 64 * MiB
    """Readiness fails when the filesystem of the data directory (the SQLite database, when used)
    has less free space than this: a full disk fails every write, including each request's nonce."""
    malloc_arena_max: int = 2
    """glibc malloc arenas for the server process (0: glibc's default of 8 per core); connector/serving/memory.py."""
    trim_after_bytes: int = 1 * MiB
    """After a request body at least this large, return free heap memory to the kernel (0: never)."""
    malloc_mmap_threshold: int = 4 * MiB
    """glibc maps blocks this large directly instead of from the heap (0: glibc's sliding default);
    connector/serving/memory.py."""
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
    auto_migrate: str = "sqlite"
    """Schema migrations on start: ``sqlite`` (the embedded SQLite default only; PostgreSQL
    operators run ``python -m connector db upgrade`` themselves), ``always`` or ``never``."""
    log_format: str = "text"
    """``text``, or ``json``: one JSON object per line."""
    outbox_backlog_limit: int = 1000
    """``/health/ready`` fails above this many undelivered outbox items."""
    certificate_warning_days: int = 30
    """The log and the metrics warn this long before a certificate expires."""

    tsa_url: str | None = None
    """RFC 3161 time-stamping authority for the evidence chain's signed heads; None: signed only."""
    tsa_timeout: float = 10.0
    """Seconds to wait for the time-stamping authority."""
    tsa_trust: tuple[Path, ...] = ()
    """The TSA's CA certificates: ``evidence verify`` checks the heads' time-stamps against them
    (without them it reports the time-stamps as unchecked)."""
    evidence_keys_dir: Path | None = None
    """The evidence log's HMAC keys, outside the database; default ``data_dir/evidence-keys``
    (made on first run). Back it up apart from the database; never remove a key from it."""
    evidence_heads_dir: Path | None = None
    """When set, every signed head is also written there as ``head-NNNNNN.xml`` (and ``.tsr``):
    point it at storage that leaves the box (a mounted share, a synced folder)."""
    evidence_sign_interval: float = 3600.0
    """Seconds between signatures of the evidence chain's head while the server runs (when it
    moved); 0: only on demand (``evidence sign``, an export, the admin console)."""
    admin_session_minutes: float = 30.0
    """An admin console session ends this long after its login."""
    admin_secure_cookie: bool = False
    """Always mark the console's cookies ``Secure``; without it they are ``Secure`` when the request
    came over TLS (``X-Forwarded-Proto: https`` from a trusted proxy)."""
    display_timezone: str = "Asia/Ho_Chi_Minh"
    """The time zone the admin console shows times and reads date filters in (an IANA name);
    UTC stays in each time's tooltip."""
    auth: AuthSettings = field(default_factory=AuthSettings)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.display_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"display_timezone: unknown time zone {self.display_timezone!r}") from None
        for name, allowed in (("auto_migrate", AUTO_MIGRATE), ("log_format", LOG_FORMATS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"setting {name!r} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        for f in fields(self):  # sizes, counts, seconds: 0 is "off" where a setting allows it, never below
            value = getattr(self, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"setting {f.name!r} must not be negative, not {value!r}")

    @property
    def migrates_on_start(self) -> bool:
        return self.auto_migrate == "always" or (
            self.auto_migrate == "sqlite" and self.effective_database_url.startswith("sqlite")
        )

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'connector.db').resolve()}"

    @property
    def effective_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def effective_secret_key_file(self) -> Path:
        return self.auth.secret_key_file or self.data_dir / "secret.key"

    @property
    def effective_evidence_keys_dir(self) -> Path:
        return self.evidence_keys_dir or self.data_dir / "evidence-keys"


class ConfigError(SimpleError, ValueError):
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
    "secret_key_file",
    "public_key_file",
    "jwks_file",
    "metrics_token_file",
    "evidence_keys_dir",
    "evidence_heads_dir",
}
_SECTIONS: dict[str, type] = {"delivery": DeliverySettings, "auth": AuthSettings, "gateway": GatewayAuthSettings}


def _build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    return cls(**_convert(cls, values, prefix))


def _partners(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(
            "setting 'delivery.partners' must be tables named by system id: [delivery.partners.SYSTEM_ID]"
        )
    overrides = {sid: _convert(PartnerPolicy, v, f"delivery.partners.{sid}.") for sid, v in value.items()}
    for changes in overrides.values():
        PartnerPolicy(**changes)  # checks the values
    return overrides


def _convert(cls: type, values: dict[str, Any], prefix: str) -> dict[str, Any]:
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown setting {prefix}{sorted(unknown)[0]!r}")
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        default = known[name].default
        if name in _SECTIONS:
            section = _SECTIONS[name]
            kwargs[name] = value if isinstance(value, section) else _build(section, value, f"{name}.")
        elif name == "partners":
            kwargs[name] = _partners(value)
        elif name in ("trust", "crls", "tsa_trust"):
            kwargs[name] = tuple(Path(v) for v in value)
        elif name in ("organ_id_exceptions", "trusted_proxies", "metrics_networks"):
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
    return kwargs
