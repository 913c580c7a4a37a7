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
from connector.store import AttemptOutcome, BreakerState, OutboxState
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
    # The button asks first: which item, for whom, why it failed, of which exchange.
    [ask] = re.findall(r'href="(/admin/outbox/\d+/retry\?back=[^"]+)" class="retry', dead)
    confirm = http.get(f"{seeded.url}{ask.replace('&amp;', '&')}", timeout=10)
    store = seeded.live.runtime.store
    exchange_id = store.outbox_item(int(item)).exchange_id
    assert confirm.status_code == 200 and f'Retry</span> – mục <span class="en">item</span> {item}' in confirm.text
    assert (
        'id="retry-partner">eoffice-stp</a>' in confirm.text
        and f'id="retry-exchange">{exchange_id}</a>' in confirm.text
    )
    assert "partner unreachable" in confirm.text.split('id="retry-error"')[1]
    assert store.outbox_item(int(item)).state is OutboxState.DEAD  # asking changes nothing
    back = confirm.text.split('name="back" value="')[1].split('"')[0].replace("&amp;", "&")
    assert back == "/admin/outbox?system=eoffice-stp&state=dead"
    answer = http.post(
        f"{seeded.url}/admin/outbox/{item}/retry", data={"csrf": _csrf(confirm.text), "back": back}, timeout=10
    )
    assert answer.url.endswith(f"/admin/outbox?system=eoffice-stp&state=dead&done={item}")
    assert f"item {item} is due again" in answer.text
    assert store.outbox_item(int(item)).state is OutboxState.PENDING
    actions = [(r.actor, r.data) for r in store.evidence.records() if r.kind.value == "operator"]
    assert ("admin:an", {"action": "retry", "item_id": int(item)}) in actions
    again = http.get(f"{seeded.url}/admin/outbox/{item}/retry", timeout=10)  # no longer dead: nothing to confirm
    assert again.status_code == 409 and 'id="not-dead"' in again.text and 'id="confirm"' not in again.text
    csrf = _csrf(confirm.text)
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
    assert http.get(f"{seeded.url}/admin/outbox/999999/retry", timeout=10).status_code == 404


SXD = "eoffice-sxd"  # the partner page's partner: breaker open, backlog, a dead letter


@pytest.fixture(scope="module")
def troubled(seeded):
    """Three documents for SXD in the last hours: one failed for good, one failed and waits for
    its retry, one not tried yet; its breaker opened 40 minutes ago."""
    store = seeded.live.runtime.store
    store.import_directory(
        Directory(systems=[SystemEntry(SXD, "000.00.33.H31", SystemKind.DOCMGMT, "http://127.0.0.1:9/soap")])
    )
    now = utcnow()
    exchanges = [seed_exchanges(store, SXD, 1, now - timedelta(hours=3 - i), f"sxd{i}")[0] for i in range(3)]
    first, second, _ = (store.outbox_items(exchange_id=e)[0].item_id for e in exchanges)
    store.finish_attempt(first, AttemptOutcome.DEAD, now - timedelta(hours=2), "Client.Rejected: no such agency")
    later = now + timedelta(hours=1)
    store.finish_attempt(second, AttemptOutcome.RETRY, now - timedelta(minutes=40), "timeout: Read timed out.", later)
    store.set_breaker(SXD, BreakerState.OPEN, now - timedelta(minutes=40), "timeout: Read timed out.")
    return seeded


def _labels(page: str) -> list[str]:
    return re.findall(r'role="img" aria-label="([^"]+)"', page)


def test_the_partners_page_charts_every_partner_and_links_each_partners_page(troubled):
    page = troubled.session("binh").get(f"{troubled.url}/admin/partners", timeout=10).text
    labels = _labels(page)
    assert len(labels) == 4 and labels[0].startswith("Đã nhận / accepted: ") and labels[0].endswith(" in the last 24 h")
    assert page.index('id="charts"') < page.index('id="partners"')  # above the table
    assert f'href="/admin/partners/{SXD}" class="partner-link"' in page
    week = troubled.session("binh").get(f"{troubled.url}/admin/partners", params={"window": "7d"}, timeout=10).text
    assert len(_labels(week)) == 4 and all("in the last 7 days" in label for label in _labels(week))
    assert 'href="/admin/partners?window=24h" id="window-24h"' in week and 'id="window-7d" aria-current="page"' in week


def test_a_partner_page_shows_its_row_charts_and_items(troubled):
    http = troubled.session("an")
    answer = http.get(f"{troubled.url}/admin/partners/{SXD}", timeout=10)
    assert answer.status_code == 200
    page = answer.text
    row = page.split(f'id="partner-{SXD}"')[1].split("</tr>")[0]
    assert "Ngắt (đối tác lỗi)" in row and "waiting for the partner since" in row and "40 phút" in row
    assert f'<td class="num backlog"><a href="/admin/partners/{SXD}?state=pending">2</a>' in row
    assert f'<a href="/admin/partners/{SXD}?state=dead">1</a>' in row
    assert "partner timed out" in row  # the newest failure, in words
    assert f'href="/admin/partners/{SXD}/pause?back=/admin/partners/{SXD}"' in row
    # Its own charts: "accepted" is what was queued for it.
    assert _labels(page) == [
        "Xếp gửi / queued: 3 in the last 24 h",
        "Đã chuyển / delivered: 0 in the last 24 h (không có số liệu / no data)",
        "Lần gửi lỗi / failed attempts: 2 in the last 24 h",
        "Tồn đọng / backlog: 2 now, at most 2 in the last 24 h",
    ]
    assert '<span class="total-count">3</span>' in page and len(re.findall(r'id="item-\d+"', page)) == 3
    dead = http.get(f"{troubled.url}/admin/partners/{SXD}", params={"state": "dead", "window": "7d"}, timeout=10).text
    [item] = re.findall(r'id="item-(\d+)"', dead)
    # A retry from here comes back here, filter and window kept.
    assert f"/admin/outbox/{item}/retry?back=/admin/partners/{SXD}%3Fstate%3Ddead%26window%3D7d" in dead
    assert f'href="/admin/partners/{SXD}?state=dead&amp;window=24h" id="window-24h"' in dead
    missing = http.get(f"{troubled.url}/admin/partners/nobody", timeout=10)
    assert missing.status_code == 404 and "No partner nobody" in missing.text


def test_a_partner_page_pages_its_items_with_the_filter_kept(troubled):
    http = troubled.session("binh")
    first = http.get(f"{troubled.url}/admin/partners/{PULL}", params={"state": "pending"}, timeout=10).text
    assert f'href="/admin/partners/{PULL}?state=pending&amp;page=2"' in first
    second = http.get(f"{troubled.url}/admin/partners/{PULL}", params={"state": "pending", "page": "2"}, timeout=10)
    assert len(re.findall(r'id="item-\d+"', second.text)) == SEEDED - 50
    assert "retry-dead" not in second.text and "/pause" not in second.text  # read-only: no buttons


def test_retry_all_from_a_partner_page_returns_there(troubled):
    http = troubled.session("an")
    store = troubled.live.runtime.store
    page = http.get(f"{troubled.url}/admin/partners/{SXD}", timeout=10).text
    [ask] = re.findall(r'href="([^"]+/retry-dead[^"]*)" class="retry-dead"', page)
    confirm = http.get(f"{troubled.url}{ask}", timeout=10).text
    assert "Retry all 1 dead letters of eoffice-sxd" in confirm
    assert (
        f'name="back" value="/admin/partners/{SXD}"' in confirm
        and f'href="/admin/partners/{SXD}" id="cancel"' in confirm
    )
    back = confirm.split('name="back" value="')[1].split('"')[0]
    answer = http.post(
        f"{troubled.url}/admin/partners/{SXD}/retry-dead", data={"csrf": _csrf(confirm), "back": back}, timeout=10
    )
    assert answer.url.endswith(f"/admin/partners/{SXD}?done=retry-dead&system={SXD}&count=1")
    assert "1 văn bản được xếp gửi lại" in answer.text and f'id="partner-{SXD}"' in answer.text
    assert store.outbox_items(state=OutboxState.DEAD, system_id=SXD) == []
    # Now 3 waiting: the retried dead letter is back in the backlog, and the chart says so.
    assert "Tồn đọng / backlog: 3 now, at most 3 in the last 24 h" in _labels(answer.text)
    evil = http.post(
        f"{troubled.url}/admin/partners/{SXD}/pause",
        data={"csrf": _csrf(confirm), "back": "//evil.example/admin/partners"},
        allow_redirects=False,
        timeout=10,
    )
    assert evil.headers["Location"] == f"/admin/partners?done=pause&system={SXD}"  # never off the console
    store.set_paused(SXD, False, utcnow())
    store.set_breaker(SXD, BreakerState.CLOSED, utcnow())
