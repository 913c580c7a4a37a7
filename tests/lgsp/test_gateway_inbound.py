"""The connector published behind a gateway: the gateway simulator (real HTTP) authenticates the
calling application with its OAuth2 token and vouches for it in X-JWT-Assertion; the connector
believes the assertion only from the gateway's address, signed by the gateway's key, unexpired,
and naming an application the directory maps to a system. Anything else is refused like any
bad credential (or authenticated the usual way when the call carries usual credentials)."""

from __future__ import annotations

import dataclasses
import time
import uuid

import pytest
import requests
import zeep
from zeep.transports import Transport

from connector.exchange.directory import Directory
from simulators.gateway import GatewayClient, GatewayConfig, GatewaySimulator
from simulators.httpserver import BackgroundServer
from testkit.faults import documented_code
from testkit.live import ONESTOP, start_connector

APP = GatewayClient("igate-app", "igate-app-secret-123", "iGateHungYen")
STRANGER = GatewayClient("stranger-app", "stranger-secret-123", "SomebodyElse")
BINDING = "{urn:vn:lienthong:connector:1}ConnectorPort"


@pytest.fixture
def published(tmp_path):
    """The connector behind the gateway simulator; its public key in a JWKS file the connector reads."""
    gateway = GatewaySimulator(GatewayConfig("http://unset", [APP, STRANGER]))
    jwks = tmp_path / "gateway-jwks.json"
    jwks.write_text(__import__("json").dumps(gateway.jwks()), encoding="utf-8")
    live, server = start_connector(
        tmp_path / "connector",
        auth={"gateway": {"trusted_proxies": ["127.0.0.1"], "jwks_file": str(jwks), "issuer": "wso2.org/products/am"}},
    )
    store = live.runtime.store
    store.import_directory(
        Directory(systems=[dataclasses.replace(store.system(ONESTOP), gateway_application=APP.application)])
    )
    gateway.config.upstream = live.url
    gw_server = BackgroundServer(gateway, threads=4).start()
    yield live, gateway, gw_server
    gw_server.stop()
    server.stop()
    live.runtime.close()


def client(url: str, headers: dict[str, str]) -> zeep.Client:
    session = requests.Session()
    session.trust_env = False
    session.headers.update(headers)
    transport = Transport(session=session, timeout=10, operation_timeout=30)
    wsdl = zeep.Client(f"{url}/soap?wsdl", transport=transport, settings=zeep.Settings(strict=True))
    return wsdl.create_service(BINDING, f"{url}/soap")


def token(gateway_url: str, app: GatewayClient) -> str:
    answer = requests.post(
        f"{gateway_url}/token", data={"grant_type": "client_credentials"}, auth=(app.client_id, app.client_secret)
    )
    return answer.json()["access_token"]


def refusal(service) -> str:
    with pytest.raises(zeep.exceptions.Fault) as fault:
        service.getStatus(messageId=str(uuid.uuid4()))
    return documented_code(fault.value)


def test_a_call_through_the_gateway_is_the_mapped_system(published):
    live, gateway, gw_server = published
    service = client(gw_server.url, {"Authorization": f"Bearer {token(gw_server.url, APP)}"})
    # Authenticated as igate-hungyen: the unknown message is looked up (and not found), not refused.
    assert refusal(service) == "Client.UnknownDocument"
    assert gateway.stats["forwarded"] >= 2  # the WSDL and the call went through the gateway


def test_an_unknown_application_is_refused_like_a_bad_credential(published):
    live, gateway, gw_server = published
    service = client(gw_server.url, {"Authorization": f"Bearer {token(gw_server.url, STRANGER)}"})
    assert refusal(service) == "Client.Unauthenticated"


def test_a_valid_assertion_from_an_untrusted_address_is_ignored(tmp_path):
    gateway = GatewaySimulator(GatewayConfig("http://unset", [APP]))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(__import__("json").dumps(gateway.jwks()), encoding="utf-8")
    live, server = start_connector(
        tmp_path / "c", auth={"gateway": {"trusted_proxies": ["10.20.30.40"], "jwks_file": str(jwks)}}
    )
    try:
        store = live.runtime.store
        store.import_directory(
            Directory(systems=[dataclasses.replace(store.system(ONESTOP), gateway_application=APP.application)])
        )
        service = client(live.url, {"X-JWT-Assertion": gateway.assertion(APP)})  # straight from 127.0.0.1
        assert refusal(service) == "Client.Unauthenticated"
    finally:
        server.stop()
        live.runtime.close()


def test_an_expired_assertion_is_refused(published):
    live, gateway, gw_server = published
    old = GatewaySimulator(GatewayConfig("http://unset", [APP], key=gateway.key), clock=lambda: time.time() - 3600)
    old.kid = gateway.kid
    service = client(live.url, {"X-JWT-Assertion": old.assertion(APP)})
    assert refusal(service) == "Client.Unauthenticated"


def test_an_assertion_signed_with_another_key_is_refused(published):
    live, gateway, gw_server = published
    forger = GatewaySimulator(GatewayConfig("http://unset", [APP]))
    forger.kid = gateway.kid  # the gateway's key id, not its key
    service = client(live.url, {"X-JWT-Assertion": forger.assertion(APP)})
    assert refusal(service) == "Client.Unauthenticated"


def test_the_same_assertion_straight_from_a_trusted_address_is_the_mapped_system(published):
    live, gateway, gw_server = published
    service = client(live.url, {"X-JWT-Assertion": gateway.assertion(APP)})
    assert refusal(service) == "Client.UnknownDocument"


def test_a_bad_assertion_falls_back_to_the_usual_credentials(published):
    live, gateway, gw_server = published
    forger = GatewaySimulator(GatewayConfig("http://unset", [APP]))
    usual = live.client(ONESTOP)
    usual.transport.session.headers["X-JWT-Assertion"] = forger.assertion(APP)
    with pytest.raises(zeep.exceptions.Fault) as fault:
        usual.service.getStatus(messageId=str(uuid.uuid4()))
    assert documented_code(fault.value) == "Client.UnknownDocument"  # the UsernameToken authenticated it
