"""No lockout by strangers (issue 21, item 2): failed attempts are counted per (username, address),
per address and - for addresses outside a system's declared ``networks`` - per username; a key at
its limit makes attempts under it wait, with growing delays, instead of locking the account; and a
request refused before its credentials were checked is never counted.

Addresses are told apart as in production behind the TLS proxy: the connector believes
``X-Real-IP`` from 127.0.0.1 (``trusted_proxies``).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from connector.auth.authenticator import failure_delays
from connector.auth.ratelimit import AttemptGuard
from connector.clock import utcnow
from connector.errors import ErrorCode
from connector.exchange.directory import Directory, DirectoryFormatError, parse_directory
from connector.store import CredentialStore
from testkit.faults import refused_response
from testkit.live import LiveConnector, start_connector
from tests.security.conftest import envelope, post, usernametoken

UNAUTHENTICATED = ErrorCode.UNAUTHENTICATED
SYSTEM = "eoffice-vanlam"  # a pull system of the sample directory: listPending answers it
ATTACKER, PARTNER = "203.0.113.66", "198.51.100.7"


def list_pending(system_id: str = SYSTEM) -> str:
    return f"<c:listPending><c:systemId>{system_id}</c:systemId></c:listPending>"


def call(live: LiveConnector, password: str, address: str, system_id: str = SYSTEM, **headers: str):
    body = envelope(usernametoken(system_id, password), list_pending(system_id))
    return post(live, body, {"X-Real-IP": address, **headers})


def accepted(response) -> None:
    assert response.status_code == 200, response.text[:500]
    assert b"listPendingResponse" in response.content


def waits(response) -> str:
    message = refused_response(response, UNAUTHENTICATED)
    assert "too many failed attempts" in message, message
    return message


def wrong(response) -> None:
    message = refused_response(response, UNAUTHENTICATED)
    assert "username or password is wrong" in message, message


def proxied(tmp_path, **auth: object) -> tuple[LiveConnector, object]:
    return start_connector(tmp_path / "data", auth={"trusted_proxies": ["127.0.0.1"], **auth})


@pytest.fixture
def live(tmp_path) -> Iterator[LiveConnector]:
    connector, server = proxied(tmp_path)
    yield connector
    server.stop()
    connector.runtime.close()


def test_wrong_passwords_from_one_address_do_not_lock_out_the_system_at_another(live):
    """The audit's case: ten wrong passwords for eoffice-vanlam from one address; the real system
    from another address is answered at once. The attacker's own address waits."""
    password = live.password(SYSTEM)
    for _ in range(live.runtime.settings.auth.max_failures):
        wrong(call(live, "guess " + utcnow().isoformat(), ATTACKER))
    accepted(call(live, password, PARTNER))
    assert "try again in" in waits(call(live, password, ATTACKER))
    accepted(call(live, password, PARTNER))


@pytest.mark.parametrize("way", ["basic", "password-text"])
def test_refusals_before_the_credentials_are_checked_are_never_counted(tmp_path, way):
    """Twelve ``Authorization: Basic eoffice-ubnd:x`` (or PasswordText) over plain HTTP - no
    password knowledge, not even TLS - then the real system from the same address is answered."""
    connector, server = start_connector(tmp_path / "data")  # no trusted proxy: every request is plain HTTP
    try:
        password = connector.password(SYSTEM)
        for _ in range(12):
            if way == "basic":
                header = {"Authorization": "Basic " + base64.b64encode(f"{SYSTEM}:x".encode()).decode()}
                message = refused_response(post(connector, envelope("", list_pending()), header), UNAUTHENTICATED)
            else:
                token = usernametoken(SYSTEM, "x", password_type=None, digest=False)
                message = refused_response(post(connector, envelope(token, list_pending())), UNAUTHENTICATED)
            assert "TLS only" in message
        accepted(call(connector, password, "ignored: not a trusted proxy"))
        assert CredentialStore(connector.runtime.store).failure_counts(utcnow() - timedelta(hours=1), 1) == {}
    finally:
        server.stop()
        connector.runtime.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_the_wait_grows_with_every_failure_and_then_ends(tmp_path):
    connector, server = proxied(tmp_path, max_failures=2, failure_delay=10, failure_window=3600)
    try:
        clock = FakeClock()
        auth = connector.runtime.authenticator
        settings = auth.settings
        floor = min(settings.max_failures, settings.max_address_failures, settings.max_username_failures)
        auth.guard = AttemptGuard(auth.credentials, failure_delays(settings), floor, wall=clock)
        password = connector.password(SYSTEM)
        wrong(call(connector, "guess 1", ATTACKER))
        wrong(call(connector, "guess 2", ATTACKER))
        assert "try again in 10 seconds" in waits(call(connector, password, ATTACKER))
        clock.advance(11)
        wrong(call(connector, "guess 3", ATTACKER))  # checked again: the wait was over
        assert "try again in 20 seconds" in waits(call(connector, password, ATTACKER))
        clock.advance(11)
        waits(call(connector, password, ATTACKER))  # the waits refused are not counted...
        clock.advance(10)
        accepted(call(connector, password, ATTACKER))  # ...and the wait ends: never a lock
    finally:
        server.stop()
        connector.runtime.close()


def test_declared_networks_are_never_made_to_wait_by_guesses_from_elsewhere(tmp_path):
    """Guesses spread over many addresses (one each: no pair or address reaches its limit) make
    the username wait from outside the system's networks, never from inside them."""
    connector, server = proxied(tmp_path, max_username_failures=5)
    try:
        store = connector.runtime.store
        entry = dataclasses.replace(store.system(SYSTEM), networks=("198.51.100.0/24", "2001:db8:7::/48"))
        store.import_directory(Directory(systems=[entry]))
        password = connector.password(SYSTEM)
        for n in range(5):
            wrong(call(connector, f"guess {n}", f"203.0.113.{n + 1}"))
        waits(call(connector, password, "192.0.2.200"))  # a new address outside the networks
        accepted(call(connector, password, PARTNER))  # inside 198.51.100.0/24
        accepted(call(connector, password, "2001:db8:7:1::5"))
    finally:
        server.stop()
        connector.runtime.close()


def test_ipv6_addresses_are_counted_by_their_64(tmp_path):
    connector, server = proxied(tmp_path, max_failures=3, max_address_failures=3)
    try:
        password = connector.password(SYSTEM)
        for n in range(3):  # one subscriber's /64 holds 2^64 addresses: one each buys nothing
            wrong(call(connector, f"guess {n}", f"2001:db8:1:2::{n + 1}"))
        waits(call(connector, password, "2001:db8:1:2::ffff"))
        accepted(call(connector, password, "2001:db8:1:3::1"))
    finally:
        server.stop()
        connector.runtime.close()


def test_the_directory_reads_networks_and_refuses_what_is_not_one():
    csv = "system_id,organ_id,kind,networks\nx,000.00.00.H31,docmgmt,10.0.0.0/8;192.0.2.7\n"
    (system,) = parse_directory(csv, "systems.csv").systems
    assert system.networks == ("10.0.0.0/8", "192.0.2.7")
    assert system.calls_from("10.1.2.3") and system.calls_from("192.0.2.7") and not system.calls_from("192.0.2.8")
    with pytest.raises(DirectoryFormatError, match="not an address or network"):
        parse_directory(csv.replace("192.0.2.7", "example.org"), "systems.csv")
