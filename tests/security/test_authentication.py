"""Hostile input, authentication family: every way of not proving who you are is
``Client.Unauthenticated`` (never another code, never a hint whether a username exists), and
leaves every row as it was. Through the real HTTP interface of a live connector."""

from __future__ import annotations

import base64
import dataclasses
import logging
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import zeep

from connector.auth.secretbox import KEY_ENV, SecretBox, SecretKeyError
from connector.errors import ErrorCode
from connector.serving.app import ConnectorApp
from connector.serving.httpserver import server_options
from connector.serving.runtime import build_runtime
from connector.store import CertificateMapping, CredentialStore
from simulators import guide
from simulators.httpserver import BackgroundServer
from testkit.faults import documented_code, refused_response
from testkit.live import AGENCY, ONESTOP, start_connector
from testkit.net import new_id
from tests.security.conftest import envelope, minutes_from_now, post, send_body, unchanged, usernametoken

ROOT = Path(__file__).resolve().parents[2]
UNAUTHENTICATED = ErrorCode.UNAUTHENTICATED


def accepted(response: requests.Response) -> None:
    assert response.status_code == 200, response.text


# ---- the wsse:Security header --------------------------------------------------------
def test_no_credentials_at_all(connector):
    body = envelope("", send_body(connector))
    with unchanged(connector):
        assert "no credentials" in refused_response(post(connector, body), UNAUTHENTICATED)


def test_the_security_header_with_must_understand_is_understood_and_processed(connector):
    header = usernametoken(ONESTOP, connector.password(ONESTOP), must_understand=True)
    accepted(post(connector, envelope(header, send_body(connector))))


def test_a_must_understand_security_header_with_a_bad_token_is_unauthenticated_not_must_understand(connector):
    header = usernametoken(ONESTOP, "wrong password!!", must_understand=True)
    body = envelope(header, send_body(connector))
    with unchanged(connector):
        refused_response(post(connector, body), UNAUTHENTICATED)


def test_authentication_comes_before_the_body_is_judged(connector):
    """An anonymous caller learns nothing about the body: no schema error, just Unauthenticated."""
    body = envelope("", "<c:sendDocument><c:nonsense/></c:sendDocument>")
    with unchanged(connector):
        refused_response(post(connector, body), UNAUTHENTICATED)


@pytest.mark.parametrize(
    "header",
    [
        '<w:Security xmlns:w="{wsse}"/>',
        '<w:Security xmlns:w="{wsse}"><w:UsernameToken/></w:Security>',
        '<w:Security xmlns:w="{wsse}"><w:UsernameToken><w:Username></w:Username></w:UsernameToken></w:Security>',
        '<w:Security xmlns:w="{wsse}"><w:UsernameToken><w:Username>igate-hungyen</w:Username>'
        "</w:UsernameToken></w:Security>",
        '<w:Security xmlns:w="{wsse}"><w:BinarySecurityToken>AAAA</w:BinarySecurityToken></w:Security>',
    ],
    ids=["empty", "empty-token", "empty-username", "no-password", "not-a-usernametoken"],
)
def test_an_incomplete_security_header(connector, header):
    from connector.auth.wsse import WSSE

    body = envelope(header.format(wsse=WSSE), send_body(connector))
    with unchanged(connector):
        refused_response(post(connector, body), UNAUTHENTICATED)


def test_two_security_headers(connector):
    token = usernametoken(ONESTOP, connector.password(ONESTOP))
    body = envelope(token + usernametoken(ONESTOP, connector.password(ONESTOP)), send_body(connector))
    with unchanged(connector):
        assert "one wsse:Security" in refused_response(post(connector, body), UNAUTHENTICATED)


def test_two_usernametokens_in_one_header(connector):
    one = usernametoken(ONESTOP, connector.password(ONESTOP))
    inner = one[one.index("<w:UsernameToken>") : one.index("</w:Security>")]
    body = envelope(one.replace("</w:Security>", inner + "</w:Security>"), send_body(connector))
    with unchanged(connector):
        refused_response(post(connector, body), UNAUTHENTICATED)


def test_a_wrong_password_and_an_unknown_username_get_the_same_answer(connector):
    connector.password(ONESTOP)
    wrong = envelope(usernametoken(ONESTOP, "not the password"), send_body(connector))
    unknown = envelope(usernametoken("no-such-system", "not the password"), send_body(connector))
    with unchanged(connector):
        assert refused_response(post(connector, wrong), UNAUTHENTICATED) == refused_response(
            post(connector, unknown), UNAUTHENTICATED
        )


def test_a_registered_system_without_credentials(connector):
    body = envelope(usernametoken("eoffice-vanlam", "any password at all"), send_body(connector))
    with unchanged(connector):
        refused_response(post(connector, body), UNAUTHENTICATED)


@pytest.mark.parametrize(
    "minutes", [-10, -5.5, 5.5, 60 * 24], ids=["10-min-old", "just-too-old", "just-too-new", "tomorrow"]
)
def test_created_outside_the_window(connector, minutes):
    body = envelope(
        usernametoken(ONESTOP, connector.password(ONESTOP), created=minutes_from_now(minutes)), send_body(connector)
    )
    with unchanged(connector):
        assert "Created must be within 300 seconds" in refused_response(post(connector, body), UNAUTHENTICATED)


def test_created_inside_the_window_with_another_timezone_is_accepted(connector):
    created = (datetime.now(UTC) + timedelta(minutes=-2)).astimezone().isoformat(timespec="seconds")
    body = envelope(usernametoken(ONESTOP, connector.password(ONESTOP), created=created), send_body(connector))
    accepted(post(connector, body))


@pytest.mark.parametrize("created", ["yesterday", "2026-13-01T00:00:00Z", ""], ids=["word", "month-13", "empty"])
def test_created_that_is_not_a_datetime(connector, created):
    header = usernametoken(ONESTOP, connector.password(ONESTOP), created=created or " ")
    body = envelope(header, send_body(connector))
    with unchanged(connector):
        refused_response(post(connector, body), UNAUTHENTICATED)


@pytest.mark.parametrize("part", ["Nonce", "Created"])
def test_a_digest_without_nonce_or_created(connector, part):
    body = envelope(usernametoken(ONESTOP, connector.password(ONESTOP), omit=(part,)), send_body(connector))
    with unchanged(connector):
        assert "PasswordDigest needs a Nonce and a Created time" in refused_response(
            post(connector, body), UNAUTHENTICATED
        )


@pytest.mark.parametrize("nonce", [b"\x01" * 4, b"\x02" * 65], ids=["4-bytes", "65-bytes"])
def test_a_nonce_of_the_wrong_size(connector, nonce):
    body = envelope(usernametoken(ONESTOP, connector.password(ONESTOP), nonce=nonce), send_body(connector))
    with unchanged(connector):
        assert "Nonce must be" in refused_response(post(connector, body), UNAUTHENTICATED)


def test_a_nonce_that_is_not_base64(connector):
    header = usernametoken(ONESTOP, connector.password(ONESTOP))
    start = header.index("<w:Nonce>") + len("<w:Nonce>")
    header = header[:start] + "!!not*base64!!" + header[header.index("</w:Nonce>") :]
    body = envelope(header, send_body(connector))
    with unchanged(connector):
        assert "Nonce is not base64" in refused_response(post(connector, body), UNAUTHENTICATED)


def test_a_replayed_nonce_is_refused(connector):
    header = usernametoken(ONESTOP, connector.password(ONESTOP))
    accepted(post(connector, envelope(header, send_body(connector))))
    again = envelope(header, send_body(connector))  # a new request, the captured header
    with unchanged(connector):
        assert "replay" in refused_response(post(connector, again), UNAUTHENTICATED)


def test_nonces_are_shared_by_processes_using_one_database(tmp_path):
    """Two connectors on one store: a nonce used at one is a replay at the other."""
    first, first_server = start_connector(tmp_path / "a")
    second, second_server = start_connector(
        tmp_path / "b",
        database_url=first.runtime.settings.effective_database_url,
        keys_dir=first.keys_dir,
        auth={"secret_key_file": str(tmp_path / "a" / "secret.key")},
    )
    try:
        header = usernametoken(ONESTOP, first.password(ONESTOP))
        accepted(post(first, envelope(header, send_body(first))))
        body = envelope(header, send_body(first))
        with unchanged(first):
            assert "replay" in refused_response(post(second, body), UNAUTHENTICATED)
    finally:
        for server, live in ((first_server, first), (second_server, second)):
            server.stop()
            live.runtime.close()


@pytest.mark.parametrize(
    "password_type",
    [None, "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"],
    ids=["default-type", "PasswordText"],
)
def test_a_plain_text_password_over_plain_http(connector, password_type):
    header = usernametoken(ONESTOP, connector.password(ONESTOP), password_type=password_type, digest=False)
    body = envelope(header, send_body(connector))
    with unchanged(connector):
        assert "over TLS only" in refused_response(post(connector, body), UNAUTHENTICATED)


def test_an_unknown_password_type(connector):
    header = usernametoken(ONESTOP, connector.password(ONESTOP), password_type="urn:example#PasswordSHA256")
    body = envelope(header, send_body(connector))
    with unchanged(connector):
        refused_response(post(connector, body), UNAUTHENTICATED)


# ---- HTTP Basic and transport headers ------------------------------------------------
def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_http_basic_over_plain_http(connector):
    body = envelope("", send_body(connector))
    headers = basic(ONESTOP, connector.password(ONESTOP))
    with unchanged(connector):
        assert "over TLS only" in refused_response(post(connector, body, headers), UNAUTHENTICATED)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer abc.def", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic"],
    ids=["bearer", "bad-base64", "no-colon", "empty"],
)
def test_a_malformed_authorization_header(connector, authorization):
    body = envelope(usernametoken(ONESTOP, connector.password(ONESTOP)), send_body(connector))
    with unchanged(connector, skip=("auth_nonces",)):
        refused_response(post(connector, body, {"Authorization": authorization}), UNAUTHENTICATED)


@pytest.mark.parametrize(
    "headers",
    [{"X-Forwarded-Proto": "https"}, {"X-Forwarded-Proto": "https", "X-SSL-Client-Verify": "SUCCESS"}],
    ids=["forwarded-proto", "client-verify"],
)
def test_proxy_headers_from_an_untrusted_address_are_ignored(connector, headers):
    """Nobody is a trusted proxy by default: a direct client cannot claim TLS."""
    header = usernametoken(ONESTOP, connector.password(ONESTOP), password_type=None, digest=False)
    body = envelope(header, send_body(connector))
    with unchanged(connector):
        refused_response(post(connector, body, headers), UNAUTHENTICATED)


def test_a_forged_client_certificate_header_is_ignored_and_logged(connector, caplog):
    cert = (connector.keys_dir / f"{guide.ONESTOP.organ_id}.cert.pem").read_text()
    connector_admin_map(connector, ONESTOP, cert)  # the mapping exists: only the header's origin is wrong
    headers = {
        "X-SSL-Client-Verify": "SUCCESS",
        "X-SSL-Client-Cert": requests.utils.quote(cert),
        "X-Forwarded-Proto": "https",
    }
    body = envelope("", send_body(connector))
    with caplog.at_level(logging.WARNING, "connector.security"), unchanged(connector):
        refused_response(post(connector, body, headers), UNAUTHENTICATED)
    assert "auth.proxy_headers_ignored" in caplog.text


def connector_admin_map(connector, system_id: str, pem: str) -> None:
    from cryptography import x509

    from connector.auth.admin import CredentialAdmin

    CredentialAdmin(connector.runtime.store, connector.runtime.authenticator.box).map_certificate(
        system_id, x509.load_pem_x509_certificate(pem.encode())
    )


# ---- behind a trusted TLS proxy (the proxy's headers, as nginx sends them) -----------
TLS = {"X-Forwarded-Proto": "https", "X-Real-IP": "192.0.2.10"}


def test_password_text_over_tls_is_accepted(behind_proxy):
    header = usernametoken(ONESTOP, behind_proxy.password(ONESTOP), password_type=None, digest=False)
    accepted(post(behind_proxy, envelope(header, send_body(behind_proxy)), TLS))


def test_http_basic_over_tls_is_accepted_and_a_wrong_one_is_not(behind_proxy):
    accepted(
        post(behind_proxy, envelope("", send_body(behind_proxy)), TLS | basic(ONESTOP, behind_proxy.password(ONESTOP)))
    )
    body = envelope("", send_body(behind_proxy))
    with unchanged(behind_proxy):
        refused_response(post(behind_proxy, body, TLS | basic(ONESTOP, "not the password")), UNAUTHENTICATED)


def client_cert_headers(live, organ_id: str, verify: str = "SUCCESS") -> dict[str, str]:
    pem = (live.keys_dir / f"{organ_id}.cert.pem").read_text()
    return TLS | {"X-SSL-Client-Verify": verify, "X-SSL-Client-Cert": requests.utils.quote(pem)}


def test_a_mapped_client_certificate_is_accepted(behind_proxy):
    connector_admin_map(
        behind_proxy, ONESTOP, (behind_proxy.keys_dir / f"{guide.ONESTOP.organ_id}.cert.pem").read_text()
    )
    accepted(
        post(
            behind_proxy,
            envelope("", send_body(behind_proxy)),
            client_cert_headers(behind_proxy, guide.ONESTOP.organ_id),
        )
    )


def test_an_unmapped_client_certificate(behind_proxy):
    body = envelope("", send_body(behind_proxy))
    with unchanged(behind_proxy):
        assert "not mapped" in refused_response(
            post(behind_proxy, body, client_cert_headers(behind_proxy, guide.ONESTOP.organ_id)), UNAUTHENTICATED
        )


def test_a_certificate_the_proxy_did_not_verify(behind_proxy):
    connector_admin_map(
        behind_proxy, ONESTOP, (behind_proxy.keys_dir / f"{guide.ONESTOP.organ_id}.cert.pem").read_text()
    )
    body = envelope("", send_body(behind_proxy))
    with unchanged(behind_proxy):
        refused_response(
            post(behind_proxy, body, client_cert_headers(behind_proxy, guide.ONESTOP.organ_id, "FAILED:unknown CA")),
            UNAUTHENTICATED,
        )


def test_an_expired_certificate_mapping(behind_proxy):
    pem = (behind_proxy.keys_dir / f"{guide.ONESTOP.organ_id}.cert.pem").read_text()
    connector_admin_map(behind_proxy, ONESTOP, pem)
    store = CredentialStore(behind_proxy.runtime.store)
    [summary] = [s for s in store.summaries() if s.system_id == ONESTOP]
    mapping = summary.certificates[0]
    past = datetime.now(UTC) - timedelta(days=1)
    store.map_certificate(CertificateMapping(mapping.sha256, ONESTOP, mapping.subject, past, mapping.added_at))
    body = envelope("", send_body(behind_proxy))
    with unchanged(behind_proxy):
        assert "expired" in refused_response(
            post(behind_proxy, body, client_cert_headers(behind_proxy, guide.ONESTOP.organ_id)), UNAUTHENTICATED
        )


def test_credentials_naming_two_systems(behind_proxy):
    connector_admin_map(
        behind_proxy, ONESTOP, (behind_proxy.keys_dir / f"{guide.ONESTOP.organ_id}.cert.pem").read_text()
    )
    header = usernametoken(AGENCY, behind_proxy.password(AGENCY))
    body = envelope(header, send_body(behind_proxy))
    with unchanged(behind_proxy, skip=("auth_nonces",)):  # the token itself was good: its nonce is spent
        assert "different systems" in refused_response(
            post(behind_proxy, body, client_cert_headers(behind_proxy, guide.ONESTOP.organ_id)), UNAUTHENTICATED
        )


# ---- rate limiting -------------------------------------------------------------------
@pytest.fixture
def strict(tmp_path):
    live, server = start_connector(tmp_path / "data", auth={"max_failures": 3, "max_address_failures": 3})
    yield live
    server.stop()
    live.runtime.close()


def test_after_too_many_failures_even_the_right_password_is_refused(strict):
    password = strict.password(ONESTOP)
    for _ in range(3):
        refused_response(
            post(strict, envelope(usernametoken(ONESTOP, "guess " + new_id()), send_body(strict))), UNAUTHENTICATED
        )
    body = envelope(usernametoken(ONESTOP, password), send_body(strict))
    with unchanged(strict):
        assert "too many failed attempts" in refused_response(post(strict, body), UNAUTHENTICATED)


def test_failures_are_counted_per_client_address_across_usernames(strict):
    for n in range(3):
        refused_response(
            post(strict, envelope(usernametoken(f"guess-{n}", "x" * 12), send_body(strict))), UNAUTHENTICATED
        )
    body = envelope(usernametoken(AGENCY, strict.password(AGENCY)), send_body(strict))
    with unchanged(strict):
        assert "too many failed attempts" in refused_response(post(strict, body), UNAUTHENTICATED)


def test_failures_spread_over_processes_count_once_for_all(strict, tmp_path):
    # A second connector process on the same database, as `server.py --workers 2` or a second node.
    other_runtime = build_runtime(strict.runtime.settings)
    other_server = BackgroundServer(ConnectorApp(other_runtime), **server_options(other_runtime.settings, threads=2))
    other = dataclasses.replace(strict, url=other_server.start().url, runtime=other_runtime)
    try:
        password = strict.password(ONESTOP)
        for live in (strict, other, strict):  # 3 guesses, neither process saw 3 itself
            refused_response(
                post(live, envelope(usernametoken(ONESTOP, "guess " + new_id()), send_body(live))), UNAUTHENTICATED
            )
        time.sleep(1.1)  # the shared counts are read at most once a second
        for live in (strict, other):
            body = envelope(usernametoken(ONESTOP, password), send_body(live))
            assert "too many failed attempts" in refused_response(post(live, body), UNAUTHENTICATED)
    finally:
        other_server.stop()
        other_runtime.close()


# ---- zeep, as integrators use it -----------------------------------------------------
OPERATIONS = {
    "sendDocument": dict(
        messageId="m-1",
        edxmlPackage=b"x",
        kind="INCOMING",
        senderUsername="u",
        dossier={"dossierCode": "d", "procedureCode": "p"},
    ),
    "publishResult": dict(
        messageId="m-2",
        edxmlPackage=b"x",
        onestopNumber="n",
        issue={"numberSymbol": "1/X", "issueDate": datetime(2022, 11, 26).date()},
    ),
    "updateStatus": dict(messageId="m-3", edxmlPackage=b"x"),
    "getStatus": dict(dossierCode=guide.DOSSIER_CODE),
    "listPending": dict(systemId="eoffice-ubnd"),
    "fetchPending": dict(systemId="eoffice-ubnd", itemId=1),
    "acknowledge": dict(systemId="eoffice-ubnd", itemId=1, outcome="DONE"),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_every_operation_needs_credentials(connector, operation):
    client = connector.client(None)
    with unchanged(connector), pytest.raises(zeep.exceptions.Fault) as caught:
        getattr(client.service, operation)(**OPERATIONS[operation])
    assert documented_code(caught.value) == UNAUTHENTICATED.value


def test_zeep_with_a_wrong_password(connector):
    connector.password(ONESTOP)
    client = connector.client(ONESTOP, password="not the password")
    with unchanged(connector), pytest.raises(zeep.exceptions.Fault) as caught:
        client.service.getStatus(dossierCode=guide.DOSSIER_CODE)
    assert documented_code(caught.value) == UNAUTHENTICATED.value


@pytest.mark.parametrize("path", ["/soap?wsdl", "/health", "/schemas/connector.xsd"])
def test_the_contract_and_health_stay_public(connector, path):
    assert requests.get(connector.url + path, timeout=10).status_code == 200


# ---- secrets and the security log ----------------------------------------------------
def test_failures_are_logged_as_security_events_without_secrets(connector, caplog):
    password = connector.password(ONESTOP)
    header = usernametoken(ONESTOP, password, password_type=None, digest=False)  # the secret in the header
    with caplog.at_level(logging.DEBUG, "connector.security"):
        refused_response(post(connector, envelope(header, send_body(connector))), UNAUTHENTICATED)
    assert (
        "event=auth.failed" in caplog.text
        and f"username={ONESTOP}" in caplog.text
        and "address=127.0.0.1" in caplog.text
    )
    assert password not in caplog.text


def test_no_password_is_stored_in_plain_text(connector):
    password = connector.password(ONESTOP)
    sealed = CredentialStore(connector.runtime.store).sealed_password(ONESTOP)
    assert password.encode() not in sealed
    key_file = connector.runtime.settings.effective_secret_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert SecretBox.load(key_file, environ={}).open(sealed) == password


def test_the_key_from_the_environment_wins_and_another_key_opens_nothing(tmp_path):
    from cryptography.fernet import Fernet

    env = {KEY_ENV: Fernet.generate_key().decode()}
    sealed = SecretBox.load(tmp_path / "unused.key", environ=env).seal("a password of twelve")
    assert not (tmp_path / "unused.key").exists()
    with pytest.raises(SecretKeyError):
        SecretBox.load(tmp_path / "other.key", environ={}).open(sealed)


# ---- the operator's command line -----------------------------------------------------
def cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    return subprocess.run(
        [sys.executable, "-m", "connector", "credentials", *args, "--data-dir", str(data_dir)],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_credentials_set_list_revoke_through_the_cli(connector):
    data_dir = connector.runtime.settings.data_dir
    password = "a long enough password"
    assert cli(data_dir, "set", ONESTOP, "--password-stdin", stdin=password + "\n").returncode == 0
    listing = cli(data_dir, "list")
    assert ONESTOP in listing.stdout and password not in listing.stdout
    accepted(post(connector, envelope(usernametoken(ONESTOP, password), send_body(connector))))
    assert cli(data_dir, "revoke", ONESTOP).returncode == 0
    body = envelope(usernametoken(ONESTOP, password), send_body(connector))
    with unchanged(connector):
        refused_response(post(connector, body), UNAUTHENTICATED)


@pytest.mark.parametrize(
    "args,stdin",
    [
        (("set", ONESTOP, "--password-stdin"), "short\n"),
        (("set", "no-such-system", "--password-stdin"), "long enough password\n"),
        (("set", ONESTOP), ""),
        (("revoke", "no-such-system"), ""),
        (("map-cert", ONESTOP, "README.md"), ""),
    ],
    ids=["short-password", "unknown-system", "password-not-on-stdin", "revoke-nothing", "not-a-certificate"],
)
def test_the_cli_refuses_what_it_cannot_do(connector, args, stdin):
    data_dir = connector.runtime.settings.data_dir
    with unchanged(connector):
        run = cli(data_dir, *args, stdin=stdin)
    assert run.returncode in (1, 2) and run.stderr.startswith("error: ") and "Traceback" not in run.stderr


def test_map_cert_through_the_cli(behind_proxy):
    data_dir = behind_proxy.runtime.settings.data_dir
    cert = behind_proxy.keys_dir / f"{guide.ONESTOP.organ_id}.cert.pem"
    run = cli(data_dir, "map-cert", ONESTOP, str(cert))
    assert run.returncode == 0, run.stderr
    assert ONESTOP in cli(data_dir, "list").stdout
    accepted(
        post(
            behind_proxy,
            envelope("", send_body(behind_proxy)),
            client_cert_headers(behind_proxy, guide.ONESTOP.organ_id),
        )
    )
