"""``/metrics`` is for the scraper only (issue 21, item 6): it names partner systems, backlogs,
dead letters, fault and authentication-failure counts and certificate subjects. A scraper sends
the configured bearer token, or calls from ``auth.metrics_networks`` (loopback by default)."""

from __future__ import annotations

import logging

import pytest
import requests

from connector.auth.scraper import TOKEN_ENV, ScraperAccess
from connector.config import AuthSettings, ConfigError
from tests.soap.conftest import start_connector

TOKEN = "scraper-token-0123456789abcdef"
STRANGER = {"X-Real-IP": "203.0.113.9"}


def metrics(url: str, headers: dict[str, str] | None = None) -> requests.Response:
    with requests.Session() as http:
        http.trust_env = False
        return http.get(f"{url}/metrics", headers=headers or {}, timeout=10)


def refused(answer: requests.Response) -> None:
    assert answer.status_code == 401, answer.status_code
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"connector_" not in answer.content and b"eoffice" not in answer.content


@pytest.fixture
def proxied(tmp_path):
    token_file = tmp_path / "metrics.token"
    token_file.write_text(TOKEN + "\n")
    live, server = start_connector(
        tmp_path / "data", auth={"trusted_proxies": ["127.0.0.1"], "metrics_token_file": str(token_file)}
    )
    yield live
    server.stop()
    live.runtime.close()


def test_a_stranger_is_refused_and_the_refusal_is_a_security_event(proxied, caplog):
    with caplog.at_level(logging.INFO, "connector.security"):
        refused(metrics(proxied.url, STRANGER))
    assert "event=metrics.refused" in caplog.text and "203.0.113.9" in caplog.text


def test_a_relayed_request_without_a_client_address_is_not_taken_for_loopback(proxied):
    refused(metrics(proxied.url))  # from the proxy on 127.0.0.1, but whose request?


def test_the_scraper_token_opens_it_from_anywhere_and_a_wrong_one_does_not(proxied):
    answer = metrics(proxied.url, {**STRANGER, "Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and b"connector_requests_total" in answer.content
    refused(metrics(proxied.url, {**STRANGER, "Authorization": f"Bearer {TOKEN[:-1]}x"}))
    refused(metrics(proxied.url, {**STRANGER, "Authorization": "Basic " + TOKEN}))


def test_a_trusted_scraper_network(tmp_path):
    live, server = start_connector(
        tmp_path / "data", auth={"trusted_proxies": ["127.0.0.1"], "metrics_networks": ["10.20.0.0/16"]}
    )
    try:
        assert metrics(live.url, {"X-Real-IP": "10.20.3.4"}).status_code == 200
        refused(metrics(live.url, {"X-Real-IP": "10.21.3.4"}))
    finally:
        server.stop()
        live.runtime.close()


def test_no_networks_means_the_token_only_even_on_loopback(tmp_path):
    live, server = start_connector(tmp_path / "data", auth={"metrics_networks": []})
    try:
        refused(metrics(live.url))
    finally:
        server.stop()
        live.runtime.close()


def test_the_front_page_no_longer_advertises_metrics(proxied):
    assert "/metrics" not in requests.get(proxied.url + "/", timeout=10).text


def test_a_short_token_or_a_bad_network_is_a_configuration_error():
    with pytest.raises(ConfigError, match="at least"):
        ScraperAccess.of(AuthSettings(), {TOKEN_ENV: "short"})
    with pytest.raises(ConfigError, match="metrics_networks"):
        ScraperAccess.of(AuthSettings(metrics_networks=("not-a-network",)), {})
