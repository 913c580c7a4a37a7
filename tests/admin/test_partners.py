"""Issue 24 over real HTTP: the partners page, errors in words, Vietnam time, paging with totals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from connector.admin.words import Clock, error_words
from connector.clock import utcnow
from connector.config import ConfigError, DeliverySettings, load_settings
from connector.delivery.clients import PartnerClients, Timeouts
from connector.delivery.worker import DeliveryWorker
from connector.exchange.directory import DeliveryMode, Directory, SystemEntry, SystemKind
from connector.exchange.states import ExchangeState
from connector.store import BreakerState, OutboxState
from tests.admin.conftest import seed_exchanges

SEEDED = 60  # more than one page of 50
PULL = "vpdt-pull"


@pytest.fixture(scope="module")
def seeded(console):
    """``SEEDED`` more exchanges, each with one item for a pull partner (nothing delivers them)."""
    store = console.live.runtime.store
    store.import_directory(
        Directory(systems=[SystemEntry(PULL, "000.00.32.H31", SystemKind.DOCMGMT, None, DeliveryMode.PULL)])
    )
    seed_exchanges(store, PULL, SEEDED, utcnow() - timedelta(hours=3))
    return console


def _rows(page: str, marker: str) -> list[str]:
    return re.findall(marker, page)


def test_login_lands_on_the_partners_page_with_dead_letters_and_errors_in_words(seeded):
    http = seeded.session("binh")  # the session helper asserts the landing page
    page = http.get(f"{seeded.url}/admin/partners", timeout=10).text
    for system in ("eoffice-stp", "igate-hungyen", PULL):
        assert f'id="partner-{system}"' in page
    row = page.split('id="partner-eoffice-stp"')[1].split("</tr>")[0]
    assert '<td class="num dead-count"><a href="/admin/outbox?system=eoffice-stp&amp;state=dead">1</a>' in row
    assert "Không kết nối được tới đối tác" in row and "partner unreachable" in row
    assert "<details" in row and "transport:" in row  # the raw text, behind the disclosure
    pull = page.split(f'id="partner-{PULL}"')[1].split("</tr>")[0]
    assert f">{SEEDED}</a>" in pull and "<td>pull</td>" in pull and "3 giờ" in pull  # backlog, oldest's age


def test_an_open_breaker_shows_since_when_in_vietnam_time_and_a_pause_shows(seeded):
    store = seeded.live.runtime.store
    since = utcnow().replace(microsecond=0) - timedelta(minutes=90)
    store.set_breaker("igate-hungyen", BreakerState.OPEN, since, "timeout: Read timed out. (read timeout=2)")
    store.set_paused(PULL, True, utcnow(), "bảo trì / maintenance")
    try:
        page = seeded.session("binh").get(f"{seeded.url}/admin/partners", timeout=10).text
    finally:
        store.set_paused(PULL, False, utcnow())
    row = page.split('id="partner-igate-hungyen"')[1].split("</tr>")[0]
    local = since + timedelta(hours=7)
    assert "Ngắt (đối tác lỗi)" in row and "waiting for the partner since" in row
    assert f'title="UTC {since:%Y-%m-%d %H:%M:%S}">{local:%Y-%m-%d %H:%M:%S}</time>' in row
    assert "1 giờ 30 phút" in row
    assert "Tạm dừng" in page.split(f'id="partner-{PULL}"')[1].split("</tr>")[0]
    outbox = seeded.session("binh").get(f"{seeded.url}/admin/outbox", timeout=10).text
    assert 'id="breaker-igate-hungyen"' in outbox and "partner timed out" in outbox
    store.set_breaker("igate-hungyen", BreakerState.CLOSED, utcnow())


def test_exchanges_page_through_with_totals_and_filters_kept(seeded):
    http = seeded.session("binh")
    total = SEEDED + 1  # and the guide's dossier
    first = http.get(f"{seeded.url}/admin/exchanges", params={"state": "accepted"}, timeout=10).text
    accepted = seeded.live.runtime.store.count_exchanges(state=ExchangeState.ACCEPTED)
    assert accepted == SEEDED and f'<span class="total-count">{accepted}</span>' in first
    assert 'href="/admin/exchanges?state=accepted&amp;page=2"' in first  # the filter rides along
    everything = http.get(f"{seeded.url}/admin/exchanges", timeout=10).text
    assert f'<span class="total-count">{total}</span>' in everything
    second = http.get(f"{seeded.url}/admin/exchanges?page=2", timeout=10).text
    links = [re.findall(r'class="exchange-link" href="/admin/exchanges/([^"]+)"', p) for p in (everything, second)]
    assert [len(x) for x in links] == [50, total - 50]
    assert len(set(links[0]) | set(links[1])) == total  # no row twice, none lost
    assert links[0][0] != "seed-0000" and "seed-0000" in links[1]  # newest first


def test_the_outbox_pages_by_partner_and_a_retry_returns_to_the_filtered_view(seeded):
    http = seeded.session("an")
    page = http.get(f"{seeded.url}/admin/outbox", params={"system": PULL, "page": "2"}, timeout=10).text
    assert f'<span class="total-count">{SEEDED}</span>' in page
    assert len(_rows(page, r'<tr class="" id="item-')) == SEEDED - 50
    assert "Đang chờ gửi <code" in page  # the state's label beside its code
    dead = http.get(f"{seeded.url}/admin/outbox", params={"system": "eoffice-stp", "state": "dead"}, timeout=10).text
    [item] = re.findall(r'id="item-(\d+)"', dead)
    csrf = dead.split('name="csrf" value="')[1].split('"')[0]
    back = dead.split('name="back" value="')[1].split('"')[0].replace("&amp;", "&")
    answer = http.post(f"{seeded.url}/admin/outbox/{item}/retry", data={"csrf": csrf, "back": back}, timeout=10)
    assert answer.url.endswith(f"/admin/outbox?system=eoffice-stp&state=dead&done={item}")
    assert seeded.live.runtime.store.outbox_item(int(item)).state is OutboxState.PENDING
    other = seeded.live.runtime.store.outbox_items(state=OutboxState.DEAD, system_id="igate-hungyen")[0].item_id
    evil = http.post(
        f"{seeded.url}/admin/outbox/{other}/retry",
        data={"csrf": csrf, "back": "https://evil.example/"},
        allow_redirects=False,
        timeout=10,
    )
    assert evil.headers["Location"] == f"/admin/outbox?done={other}"  # never off the console


@pytest.mark.parametrize(
    ("raw", "en"),
    [
        ("timeout: HTTPConnectionPool(host='x', port=80): Read timed out.", "partner timed out"),
        ("transport: ConnectionError: ... [Errno 111] Connection refused", "partner unreachable"),
        ("transport: SSLError: certificate verify failed", "TLS error"),
        (
            "http: 503 Service Unavailable [HTTP 503 text/html: '<html>' ]",
            "partner answered with an HTTP error HTTP 503",
        ),
        (
            "Client.Rejected: no such agency [client-fault; HTTP 500 text/xml]",
            "partner refused it with fault Client.Rejected",
        ),
        ("Server.Busy: try later [server-fault; HTTP 500 text/xml]", "partner failed with fault Server.Busy"),
        ("credentials: HTTP 401 from the gateway", "credentials rejected by the gateway"),
        ("throttled: quota exceeded", "gateway throttling"),
        ("protocol: answer does not fit the contract", "the partner's answer breaks the contract"),
        ("HTTPConnectionPool(host='h'): Max retries exceeded ([Errno 111] Connection refused)", "partner unreachable"),
        ("something odd", "other error"),
    ],
)
def test_errors_in_words(raw, en):
    words = error_words(raw)
    assert words is not None and words.en == en and words.raw == raw and words.vi


def test_vietnam_time_and_date_filters():
    clock = Clock("Asia/Ho_Chi_Minh")
    at = datetime(2026, 5, 4, 18, 30, tzinfo=UTC)
    assert str(clock.when(at)) == (
        '<time datetime="2026-05-04T18:30:00+00:00" title="UTC 2026-05-04 18:30:00">2026-05-05 01:30:00</time>'
    )
    assert clock.start_of_day("2026-05-05") == datetime(2026, 5, 4, 17, 0, tzinfo=UTC)
    assert clock.start_of_day("not a day") is None and clock.offset == "UTC+07:00"
    assert load_settings().display_timezone == "Asia/Ho_Chi_Minh"
    with pytest.raises(ConfigError):
        load_settings(display_timezone="Mars/Olympus_Mons")


def _csrf(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"')[0]


def test_pausing_and_resuming_a_partner_is_confirmed_and_recorded(seeded):
    http = seeded.session("an")
    store = seeded.live.runtime.store
    landing = http.get(f"{seeded.url}/admin/partners", timeout=10).text
    assert f'href="/admin/partners/{PULL}/pause"' in landing
    confirm = http.get(f"{seeded.url}/admin/partners/{PULL}/pause", timeout=10).text
    assert 'id="confirm"' in confirm and store.partner_queue(PULL).paused is False  # asking changes nothing
    answer = http.post(
        f"{seeded.url}/admin/partners/{PULL}/pause", data={"csrf": _csrf(confirm), "reason": "bảo trì"}, timeout=10
    )
    assert answer.url.endswith(f"/admin/partners?done=pause&system={PULL}") and 'id="notice"' in answer.text
    queue = store.partner_queue(PULL)
    assert queue.paused and queue.pause_reason == "bảo trì"
    assert f'href="/admin/partners/{PULL}/resume"' in answer.text
    http.post(f"{seeded.url}/admin/partners/{PULL}/resume", data={"csrf": _csrf(confirm)}, timeout=10)
    assert store.partner_queue(PULL).paused is False
    actions = [(r.actor, r.data) for r in store.evidence.records() if r.kind.value == "operator"]
    assert ("admin:an", {"action": "pause", "system_id": PULL, "reason": "bảo trì"}) in actions
    assert ("admin:an", {"action": "resume", "system_id": PULL, "reason": None}) in actions


def test_a_pause_reason_too_long_for_the_evidence_log_is_refused_and_changes_nothing(seeded):
    http = seeded.session("an")
    confirm = http.get(f"{seeded.url}/admin/partners/{PULL}/pause", timeout=10).text
    answer = http.post(
        f"{seeded.url}/admin/partners/{PULL}/pause", data={"csrf": _csrf(confirm), "reason": "x" * 501}, timeout=10
    )
    assert answer.status_code == 400 and "at most 500 characters, not 501" in answer.text
    assert seeded.live.runtime.store.partner_queue(PULL).paused is False


def test_retry_all_dead_letters_says_how_many_first_and_read_only_operators_cannot(seeded):
    store = seeded.live.runtime.store
    # The earlier tests retried the dead letters: the worker fails them for good again (the partners are down).
    worker = DeliveryWorker(store, PartnerClients(Timeouts(2, 2)), DeliverySettings(retry_horizon=0))
    while worker.run_once() is not None:
        pass
    dead = [i.item_id for i in store.outbox_items(state=OutboxState.DEAD, system_id="eoffice-stp")]
    assert dead
    reader = seeded.session("binh")
    page = reader.get(f"{seeded.url}/admin/partners", timeout=10).text
    assert "retry-dead" not in page and "/pause" not in page  # no buttons for read-only
    refused = reader.post(f"{seeded.url}/admin/partners/eoffice-stp/retry-dead", data={"csrf": _csrf(page)}, timeout=10)
    assert refused.status_code == 403
    http = seeded.session("an")
    confirm = http.get(f"{seeded.url}/admin/partners/eoffice-stp/retry-dead", timeout=10).text
    assert f"Retry all {len(dead)} dead letters of eoffice-stp" in confirm
    answer = http.post(f"{seeded.url}/admin/partners/eoffice-stp/retry-dead", data={"csrf": _csrf(confirm)}, timeout=10)
    assert answer.url.endswith(f"done=retry-dead&system=eoffice-stp&count={len(dead)}")
    assert all(store.outbox_item(i).state is OutboxState.PENDING for i in dead)
    records = [(r.actor, r.data) for r in store.evidence.records() if r.kind.value == "operator"]
    assert all(("admin:an", {"action": "retry", "item_id": i}) in records for i in dead)
    assert http.get(f"{seeded.url}/admin/partners/nobody/pause", timeout=10).status_code == 404
    assert http.get(f"{seeded.url}/admin/outbox/{dead[0]}/retry", timeout=10).status_code == 405
