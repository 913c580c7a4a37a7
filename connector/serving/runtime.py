"""Assemble a running connector from ``Settings``: store, directory, keys, policy, service.

First run with no configuration sets up the embedded default in the data directory: a SQLite
database, development keys (``signing keys init``) and the guide's sample directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from connector.admin.app import ConsoleParts
from connector.admin.guard import LoginGuard, LoginLimits
from connector.auth import Authenticator
from connector.auth.authenticator import failure_delays
from connector.auth.ratelimit import AttemptGuard
from connector.auth.secretbox import SecretBox
from connector.clock import utcnow
from connector.config import Settings
from connector.delivery.axis_poller import AxisPoller
from connector.delivery.clients import PartnerClients, Timeouts
from connector.delivery.protocols import PartnerProtocols, PartnerSecrets
from connector.delivery.vxp import VxpDelivery
from connector.delivery.worker import DeliveryWorker
from connector.edxml import ParseLimits, ValidationSettings
from connector.evidence.bundle import BundleSources
from connector.evidence.notary import HeadNotary, NotarySettings
from connector.exchange.directory import Directory, parse_directory
from connector.exchange.service import ExchangeService, ServiceConfig
from connector.ops.certificates import certificates, warn_expiring
from connector.ops.health import ReadinessParts
from connector.ops.metrics import record_authentication_failure
from connector.store import EvidenceKeyError, EvidenceKeys, MigrationError, Store, require_up_to_date
from signing import (
    CONNECTOR_ORG,
    DevKeyLayout,
    OrgSpec,
    SigningIdentity,
    VerificationPolicy,
    init_dev_keys,
    load_password,
    read_org_cert_map,
)

log = logging.getLogger(__name__)
SAMPLE_DIRECTORY = Path(__file__).parents[1] / "data" / "sample-directory.json"


@dataclass
class Runtime:
    settings: Settings
    store: Store
    service: ExchangeService
    dev_keys: DevKeyLayout | None  # None when real trust anchors and identity are configured
    authenticator: Authenticator
    notary: HeadNotary
    """Signs the evidence chain's head."""
    trust: tuple[Path, ...]
    """The trust anchors' files (what an evidence bundle ships and an auditor checks against)."""
    worker: DeliveryWorker | None = None  # the delivery worker thread of this process, if any

    def close(self) -> None:
        self.store.close()

    def bundle_sources(self) -> BundleSources:
        """What an evidence bundle is made from besides the store."""
        return BundleSources(self.service.config.identity, self.notary, self.trust, self.settings.crls)

    def readiness_parts(self) -> ReadinessParts:
        """What ``/health/ready`` looks at."""
        delivery = self.settings.delivery
        config = self.service.config
        return ReadinessParts(
            store=self.store,
            identity=config.identity,
            trust_anchors=tuple(config.policy.trust_anchors),
            worker=self.worker,
            stalled_after=delivery.connect_timeout + delivery.read_timeout + 10 * delivery.poll_interval + 5,
            backlog_limit=self.settings.outbox_backlog_limit,
            disk=database_directory(self.settings.effective_database_url),
            min_free_disk_bytes=self.settings.min_free_disk_bytes,
        )

    def console_parts(self) -> ConsoleParts:
        """What the admin console works with."""
        auth = self.settings.auth
        return ConsoleParts(
            store=self.store,
            policy=self.service.config.policy,
            identity=self.service.config.identity,
            notary=self.notary,
            bundle_sources=self.bundle_sources(),
            dev_keys=self.dev_keys,
            session_minutes=self.settings.admin_session_minutes,
            display_timezone=self.settings.display_timezone,
            login_guard=LoginGuard(
                AttemptGuard(
                    self.authenticator.credentials,
                    failure_delays(auth),
                    min(auth.max_failures, auth.max_address_failures),
                ),
                LoginLimits(auth.max_failures, auth.max_address_failures),
                frozenset(auth.trusted_proxies),
            ),
            secure_cookie=self.settings.admin_secure_cookie,
        )


def database_directory(url: str) -> Path | None:
    """The directory of a SQLite database file (None for a server database or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve().parent


class NoDatabaseError(MigrationError):
    """A command that only reads was pointed at a database that does not exist."""


def open_store(settings: Settings, seed: bool = True, sample_endpoints: bool = False) -> Store:
    """The store at the schema this code needs: migrated here when ``auto_migrate`` says so,
    otherwise it must be up to date already. ``seed``: the server's first run fills an empty
    directory (from ``directory_file`` or the guide's sample); operator commands never do.
    ``sample_endpoints``: keep the sample's partner endpoints (the demo, whose simulators run)."""
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.effective_database_url)
    try:
        if settings.migrates_on_start:
            store.create_schema()
        else:
            require_up_to_date(store.engine)
        _authenticate_evidence(store, settings)
    except BaseException:
        store.close()
        raise
    if seed and store.directory_is_empty():
        source = settings.directory_file or SAMPLE_DIRECTORY
        directory = parse_directory(source.read_text(encoding="utf-8"), source.name)
        if settings.directory_file is None and not sample_endpoints:
            directory = _without_endpoints(directory)
        plan = store.import_directory(directory)
        log.info("directory imported from %s: %s", source, plan.summary())
    return store


def _authenticate_evidence(store: Store, settings: Settings) -> None:
    """Give the store the evidence keys. When this start made the first key, records from before
    the keys are authenticated now, once their chain verifies (docs/evidence.md, "Records from
    before the upgrade"); never later, or removing a MAC would get it back."""
    keys = store.evidence.keys = EvidenceKeys.load(settings.effective_evidence_keys_dir)
    sealed = store.evidence.seal_legacy(utcnow()) if keys.created else 0
    if sealed:
        log.warning("%d evidence records from before the evidence keys were authenticated now", sealed)


def _without_endpoints(sample: Directory) -> Directory:
    """The guide's sample names the simulators' ports; a connector its operator has not pointed
    anywhere must not deliver to whatever listens there (the demo sets real simulator addresses)."""
    log.warning(
        "the sample directory is used without partner endpoints: push deliveries wait until "
        "`python -m connector directory import` gives the systems their endpoints"
    )
    return dataclasses.replace(sample, systems=[dataclasses.replace(s, endpoint=None) for s in sample.systems])


def existing_database_url(settings: Settings) -> str:
    """The database URL, for commands that must not create one: a SQLite file must exist."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        raise NoDatabaseError(
            f"no database at {url.database}: the server creates it on its first run; check --data-dir or --config"
        )
    return settings.effective_database_url


def open_existing_store(settings: Settings) -> Store:
    """For commands that only read: never creates a database (nor a data directory), and needs its
    schema up to date."""
    store = Store(existing_database_url(settings))
    try:
        require_up_to_date(store.engine)
        # Reading needs no key; a command that appends records opens the store with open_store.
        with contextlib.suppress(EvidenceKeyError):
            store.evidence.keys = EvidenceKeys.load(settings.effective_evidence_keys_dir, create=False)
    except BaseException:
        store.close()
        raise
    return store


def build_runtime(settings: Settings, sample_endpoints: bool = False) -> Runtime:
    store = open_store(settings, sample_endpoints=sample_endpoints)
    dev_keys = None
    org_cert_map: dict[str, frozenset[str]] = {}
    if settings.trust:
        anchors = settings.trust
    else:
        orgs = [OrgSpec(o.organ_id, o.name) for o in store.directory().organizations] + [CONNECTOR_ORG]
        dev_keys = init_dev_keys(settings.effective_keys_dir, orgs)
        anchors = (dev_keys.ca_path,)
        org_cert_map = dev_keys.org_cert_map()
    if settings.org_map:
        org_cert_map |= read_org_cert_map(settings.org_map)
    # An organisation's other codes (organizations[].aliases) are signed for by its certificates.
    for organization in store.directory().organizations:
        for alias in organization.aliases:
            org_cert_map[alias] = org_cert_map.get(alias, frozenset()) | org_cert_map.get(
                organization.organ_id, frozenset()
            )
    policy = VerificationPolicy.from_paths(
        trust=list(anchors),
        crls=list(settings.crls),
        allow_sha1=settings.allow_sha1,
        require_signature=settings.require_signature,
        require_revocation_info=settings.require_revocation_info,
        org_cert_map=org_cert_map,
        pinned_signers={organ_id: frozenset(fps) for organ_id, fps in settings.pinned_signers.items()},
        max_bytes=settings.max_package_bytes,
    )
    limits = ParseLimits(max_bytes=settings.max_package_bytes)
    identity = connector_identity(settings, dev_keys)
    warn_expiring(certificates(identity, policy.trust_anchors), utcnow(), settings.certificate_warning_days)
    config = ServiceConfig(policy, identity, ValidationSettings(settings.organ_id_exceptions), limits)
    authenticator = Authenticator(
        store,
        SecretBox.load(settings.effective_secret_key_file),
        settings.auth,
        on_failure=record_authentication_failure,
    )
    notary = HeadNotary(
        store, identity, NotarySettings(settings.tsa_url, settings.tsa_timeout, settings.evidence_heads_dir)
    )
    service = ExchangeService(store, config)
    return Runtime(settings, store, service, dev_keys, authenticator, notary, tuple(anchors))


def connector_identity(settings: Settings, dev_keys: DevKeyLayout | None) -> SigningIdentity:
    """The key that signs receipts: configured PEM or PKCS#12, else the development identity."""
    password = load_password(settings.identity_password_env, settings.identity_password_file)
    if settings.identity_p12:
        return SigningIdentity.from_pkcs12(settings.identity_p12, password)
    if settings.identity_key and settings.identity_cert:
        return SigningIdentity.from_pem(
            settings.identity_key, settings.identity_cert, settings.identity_chain, password
        )
    if dev_keys is not None:
        return dev_keys.identity("connector")
    raise ValueError("identity_p12, or identity_key and identity_cert, are required when trust anchors are configured")


def build_axis_poller(runtime: Runtime) -> AxisPoller:
    """The national axis's inbound poller (one thread for every ``vxp`` system)."""
    delivery = runtime.settings.delivery
    return AxisPoller(
        runtime.service,
        PartnerSecrets(runtime.store, runtime.authenticator.box),
        delivery.axis_poll_interval,
        (delivery.connect_timeout, delivery.read_timeout),
        runtime.service.config.limits,
    )


def build_worker(runtime: Runtime, role: str = "worker") -> DeliveryWorker:
    """This process's delivery worker. ``role`` tells it apart from the other workers of this
    node (``server-PORT-SLOT``, ``worker``): with the node id it names the leases it takes,
    so the next process in the same role reclaims them at once."""
    delivery = runtime.settings.delivery
    clients = PartnerClients(Timeouts(delivery.connect_timeout, delivery.read_timeout))
    protocols = PartnerProtocols(
        clients,
        PartnerSecrets(runtime.store, runtime.authenticator.box),
        (delivery.connect_timeout, delivery.read_timeout),
        vxp=VxpDelivery((delivery.connect_timeout, delivery.read_timeout)),
    )
    node_id = f"{delivery.node_id or socket.gethostname()}:{role}"
    runtime.worker = DeliveryWorker(runtime.store, clients, delivery, protocols=protocols, node_id=node_id)
    return runtime.worker
