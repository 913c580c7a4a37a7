"""A gateway simulator in front of the document-management simulator, and the connector's
directory and worker pointed through it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from connector.auth.admin import CredentialAdmin
from connector.config import DeliverySettings
from connector.delivery.protocols import PartnerProtocols, PartnerSecrets
from connector.delivery.vxp import VxpDelivery
from connector.delivery.worker import DeliveryWorker
from connector.exchange.directory import Directory, PartnerAuth, PartnerAuthType
from simulators.gateway import GatewayClient, GatewayConfig, GatewaySimulator
from simulators.httpserver import BackgroundServer
from tests.partners.conftest import AGENCY_ID  # noqa: F401 (re-exported for the tests)

AGENCY = "eoffice-stp"
CLIENT = GatewayClient("lienthong-connector", "correct-horse-battery", "LienThongHungYen")


@dataclass
class Gateway:
    simulator: GatewaySimulator
    server: BackgroundServer

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()


def start_gateway(upstream: str, **config) -> Gateway:
    simulator = GatewaySimulator(GatewayConfig(upstream, [CLIENT], **config))
    return Gateway(simulator, BackgroundServer(simulator, threads=8).start())


def route_through(stack, gateway: Gateway, secret: str | None = CLIENT.client_secret, **changes) -> None:
    """The agency's document-management system is now published at the gateway."""
    store = stack.connector.runtime.store
    system = dataclasses.replace(
        store.system(AGENCY),
        endpoint=f"{gateway.url}/soap",
        auth=PartnerAuth(PartnerAuthType.OAUTH2, token_url=f"{gateway.url}/token", client_id=CLIENT.client_id),
        **changes,
    )
    store.import_directory(Directory(systems=[system]))
    if secret is not None:
        set_secret(stack, secret)


def set_secret(stack, secret: str) -> None:
    runtime = stack.connector.runtime
    CredentialAdmin(runtime.store, runtime.authenticator.box).set_partner_secret(AGENCY, secret)


def worker(stack, partner_clients, clock, environ=None, **settings) -> DeliveryWorker:
    runtime = stack.connector.runtime
    protocols = PartnerProtocols(
        partner_clients,
        PartnerSecrets(runtime.store, runtime.authenticator.box),
        environ=environ or {},
        vxp=VxpDelivery(),
    )
    return DeliveryWorker(
        runtime.store, partner_clients, DeliverySettings(**settings), clock=clock, protocols=protocols
    )


def drain(w: DeliveryWorker) -> None:
    while w.run_once() is not None:
        pass


def document_items(stack):
    return [i for i in stack.connector.runtime.store.outbox_items() if i.operation == "deliverDocument"]
