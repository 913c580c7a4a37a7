"""The admin console under attack (issue 21, items 4 and 5): guessing operators' passwords is
slowed down by growing delays per (name, address) and per address - a security event each time -
without locking the operator out from another address; the session cookie is ``Secure`` behind
the trusted TLS proxy, or always with ``admin_secure_cookie``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests

from connector.admin.auth import add_operator
from connector.clock import utcnow
from connector.store import OperatorRole
from tests.soap.conftest import LiveConnector, start_connector

NAME, PASSWORD = "an", "mat-khau-van-hanh"
ATTACKER, OPERATOR_DESK = "203.0.113.40", "10.1.2.3"


def login(url: str, password: str, headers: dict[str, str] | None = None) -> requests.Response:
    http = requests.Session()
    http.trust_env = False
    http.headers.update(headers or {})
    form = http.get(f"{url}/admin/login", timeout=10)
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    data = {"username": NAME, "password": password, "csrf": csrf}
    # The login form's cookie by hand: over plain HTTP the client would not send back a Secure one.
    cookie = {"Cookie": f"connector_login={csrf}"}
    return requests.post(
        f"{url}/admin/login", data=data, headers={**(headers or {}), **cookie}, timeout=30, allow_redirects=False
    )


def console(tmp_path, **settings: object) -> tuple[LiveConnector, object]:
    live, server = start_connector(tmp_path / "data", **settings)
    add_operator(live.runtime.store, NAME, PASSWORD, OperatorRole.OPERATOR, utcnow())
    return live, server


@pytest.fixture
def proxied(tmp_path) -> Iterator[LiveConnector]:
    live, server = console(tmp_path, auth={"trusted_proxies": ["127.0.0.1"]})
    yield live
    server.stop()
    live.runtime.close()


def test_guessing_an_operators_password_is_slowed_down_not_locked(proxied, caplog):
    """The audit's case: 40 wrong passwords at full speed, all plain 401, and the right one
    worked at once. Now the guesser waits after the limit - even with the right password - and is
    logged; the operator at another address logs in."""
    attacker = {"X-Real-IP": ATTACKER}
    limit = proxied.runtime.settings.auth.max_failures
    with caplog.at_level(logging.INFO, "connector.security"):
        for n in range(limit):
            assert login(proxied.url, f"guess-{n}", attacker).status_code == 401
        for password in ("another guess", PASSWORD):
            waited = login(proxied.url, password, attacker)
            assert waited.status_code == 429, waited.status_code
            assert int(waited.headers["Retry-After"]) >= 1
            assert "connector_admin=" not in waited.headers.get("Set-Cookie", "")
        assert login(proxied.url, PASSWORD, {"X-Real-IP": OPERATOR_DESK}).status_code == 303
    assert caplog.text.count("event=admin.login_failed") == limit
    assert "event=admin.login_waiting" in caplog.text and ATTACKER in caplog.text
    assert f"event=admin.login operator={NAME} address={OPERATOR_DESK}" in caplog.text
    assert PASSWORD not in caplog.text


def session_cookie(answer: requests.Response) -> str:
    assert answer.status_code == 303, answer.text[:300]
    return next(c for c in answer.raw.headers.getlist("Set-Cookie") if c.startswith("connector_admin="))


def test_the_session_cookie_is_secure_behind_the_trusted_tls_proxy(proxied):
    over_tls = session_cookie(login(proxied.url, PASSWORD, {"X-Forwarded-Proto": "https"}))
    assert "; Secure" in over_tls and "HttpOnly" in over_tls and "SameSite=Strict" in over_tls
    assert "; Secure" not in session_cookie(login(proxied.url, PASSWORD))  # plain HTTP through the proxy


def test_a_client_cannot_claim_tls_for_itself(tmp_path):
    live, server = console(tmp_path)  # nobody is a trusted proxy
    try:
        assert "; Secure" not in session_cookie(login(live.url, PASSWORD, {"X-Forwarded-Proto": "https"}))
    finally:
        server.stop()
        live.runtime.close()


def test_the_secure_flag_can_be_forced(tmp_path):
    live, server = console(tmp_path, admin_secure_cookie=True)
    try:
        assert "; Secure" in session_cookie(login(live.url, PASSWORD))
    finally:
        server.stop()
        live.runtime.close()
