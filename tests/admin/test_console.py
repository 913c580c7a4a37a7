"""The admin console over real HTTP: login, sessions, CSRF, roles, and what each page shows."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import requests
from cryptography import x509

from connector.admin import auth
from connector.clock import utcnow
from connector.store import EvidenceKind, OutboxState
from signing import CONNECTOR_ORG, SignerPin, verify_bundle
from simulators import guide


def anonymous() -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    return http


def test_pages_need_a_login(console):
    answer = anonymous().get(f"{console.url}/admin/exchanges", allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/admin/login"


def test_a_wrong_password_is_refused(console):
    http = anonymous()
    csrf = http.get(f"{console.url}/admin/login", timeout=10).text.split('name="csrf" value="')[1].split('"')[0]
    answer = http.post(
        f"{console.url}/admin/login", data={"username": "an", "password": "wrong-password", "csrf": csrf}, timeout=10
    )
    assert answer.status_code == 401
    assert "wrong username or password" in answer.text
    assert "connector_admin" not in http.cookies


def test_a_login_without_the_form_token_is_refused(console):
    answer = anonymous().post(
        f"{console.url}/admin/login", data={"username": "an", "password": "mat-khau-van-hanh"}, timeout=10
    )
    assert answer.status_code == 403


def test_the_session_cookie_is_guarded_and_expires(console):
    http = console.session("an")
    [cookie] = [c for c in http.cookies if c.name == "connector_admin"]
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/admin"
    store = console.live.runtime.store
    assert auth.session_of(store, cookie.value, utcnow()) is not None
    later = utcnow() + timedelta(minutes=console.live.runtime.settings.admin_session_minutes, seconds=1)
    assert auth.session_of(store, cookie.value, later) is None


def test_search_finds_the_dossier_and_its_timeline(console):
    http = console.session("binh")
    page = http.get(f"{console.url}/admin/exchanges", params={"q": guide.DOSSIER_CODE[-8:]}, timeout=10).text
    assert guide.DOSSIER_CODE in page
    assert "Không có giao dịch" in http.get(f"{console.url}/admin/exchanges?q=nothing-like-it", timeout=10).text
    assert guide.DOSSIER_CODE in http.get(f"{console.url}/admin/exchanges?state=assigned", timeout=10).text
    assert guide.DOSSIER_CODE not in http.get(f"{console.url}/admin/exchanges?state=finished", timeout=10).text
    [exchange] = console.live.runtime.store.search_exchanges()
    detail = http.get(f"{console.url}/admin/exchanges/{exchange.exchange_id}", timeout=10).text
    assert detail.count("Hợp lệ / valid") == 2  # both packages' signatures
    assert "routed to" in detail and exchange.document_id in detail


def test_read_only_operators_see_no_buttons_and_cannot_post(console):
    http = console.session("binh")
    dead = console.dead_items[1]
    page = http.get(f"{console.url}/admin/outbox?state=dead", timeout=10).text
    assert f'id="item-{dead}"' in page
    assert "Retry" not in page
    csrf = page.split('name="csrf" value="')[1].split('"')[0]  # the logout form's
    answer = http.post(f"{console.url}/admin/outbox/{dead}/retry", data={"csrf": csrf}, timeout=10)
    assert answer.status_code == 403
    assert console.live.runtime.store.outbox_item(dead).state is OutboxState.DEAD


def test_a_retry_needs_the_csrf_token_and_is_recorded_with_the_operators_name(console):
    """Changes the first dead letter (pending again)."""
    http = console.session("an")
    url = f"{console.url}/admin/outbox/{console.dead_item}/retry"
    assert http.post(url, data={"csrf": "forged"}, timeout=10).status_code == 403
    page = http.get(f"{console.url}/admin/outbox?state=dead", timeout=10).text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    answer = http.post(url, data={"csrf": csrf}, timeout=10)
    assert answer.url.endswith(f"/admin/outbox?done={console.dead_item}")
    store = console.live.runtime.store
    assert store.outbox_item(console.dead_item).state is OutboxState.PENDING
    actions = [(r.actor, r.data) for r in store.evidence.records() if r.kind is EvidenceKind.OPERATOR]
    assert ("admin:an", {"action": "retry", "item_id": console.dead_item}) in actions


def test_the_bundle_downloads_and_verifies(console):
    http = console.session("binh")
    [exchange] = console.live.runtime.store.search_exchanges()
    answer = http.get(f"{console.url}/admin/exchanges/{exchange.exchange_id}/bundle.zip", timeout=30)
    assert answer.headers["Content-Type"] == "application/vnd.lienthong.connector.evidence+zip"
    assert zipfile.ZipFile(io.BytesIO(answer.content)).namelist()[0] == "mimetype"
    ca = x509.load_pem_x509_certificates(console.live.runtime.dev_keys.ca_path.read_bytes())
    verdict = verify_bundle(answer.content, ca, SignerPin(organ_id=CONNECTOR_ORG.organ_id))
    assert verdict.valid, verdict.failures


def test_other_pages_render(console):
    """Signs the chain head."""
    http = console.session("an")
    assert "000.00.31.H31" in http.get(f"{console.url}/admin/directory", timeout=10).text
    assert "connector identity" in http.get(f"{console.url}/admin/certificates", timeout=10).text
    evidence = http.get(f"{console.url}/admin/evidence?verify=1", timeout=10).text
    assert 'id="chain-ok"' in evidence and 'href="/admin/evidence/sign" class="button" id="sign-head"' in evidence
    evidence_log = console.live.runtime.store.evidence
    before = len(evidence_log.signed_heads())
    confirm = http.get(f"{console.url}/admin/evidence/sign", timeout=10).text  # asks first, changes nothing
    assert "Sign the evidence chain's head now" in confirm and len(evidence_log.signed_heads()) == before
    csrf = confirm.split('name="csrf" value="')[1].split('"')[0]
    signed = http.post(f"{console.url}/admin/evidence/sign", data={"csrf": csrf}, timeout=30)
    assert signed.url.endswith("/admin/evidence?done=sign-head") and 'id="notice"' in signed.text
    head = console.live.runtime.store.evidence.signed_heads()[0]  # the newest
    assert head.noted_seq == console.live.runtime.store.evidence.head()[0]  # its note is the last record
    assert http.get(f"{console.url}/admin/nothing", timeout=10).status_code == 404
    assert http.get(f"{console.url}/admin/exchanges/nothing/bundle.zip", timeout=10).status_code == 404


def test_logout_ends_the_session(console):
    http = console.session("an")
    page = http.get(f"{console.url}/admin/exchanges", timeout=10).text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    http.post(f"{console.url}/admin/logout", data={"csrf": csrf}, timeout=10)
    assert http.get(f"{console.url}/admin/exchanges", timeout=10).url.endswith("/admin/login")
