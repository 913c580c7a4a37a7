"""The console in a real browser (``tests/admin/browser.py``: headless Chromium driven by
Selenium), against one live connector per module in which a partner is really down.

The scene (``scene``): the guide's agency system ``eoffice-stp`` refuses connections (conftest);
``SENT`` more documents are sent to it over SOAP, and the real delivery worker, told to open the
breaker after ``THRESHOLD`` failed calls and to give up at the first failure, dead-letters
``THRESHOLD`` of them and opens the partner's breaker, leaving the rest as its backlog. And
``PAGED`` exchanges of one Vietnamese day are written through the store's write path, to page.

One browser (``ui``) serves every test; ``operator`` is it logged in as the operator ``an``, so a
new test is ``def test_something(operator): ...``. Tests run in file order and say what they
change. Screenshots of the main pages are written to ``$CONNECTOR_SCREENSHOTS`` (default
``.artifacts/screenshots``; the README's come from ``CONNECTOR_SCREENSHOTS=docs/screenshots``).

Without a browser the tests skip and say why, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from connector.config import DeliverySettings
from connector.delivery.clients import PartnerClients, Timeouts
from connector.delivery.worker import DeliveryWorker
from connector.exchange.directory import DeliveryMode, Directory, SystemEntry, SystemKind
from connector.store import BreakerState, OutboxState
from signing import CONNECTOR_ORG, SignerPin, verify_bundle
from simulators import guide
from testkit.live import AGENCY, ONESTOP, send_guide_documents
from tests.admin.browser import Ui, require_chromium, start_chromium, wait_for_file
from tests.admin.conftest import Console, seed_exchanges
from tests.soap.test_guide_cases import DOSSIER

SENT = 5
THRESHOLD = 3
PULL = "vpdt-pull"  # the paged exchanges' partner: it fetches its documents, so nothing delivers them
PAGED = 1000
PAGED_DAY = "2026-01-01"  # in Vietnam: the exchanges are from 01:00 on (18:00 UTC the day before)
PAGED_FROM = datetime(2025, 12, 31, 18, 0, tzinfo=UTC)
VIETNAM = timedelta(hours=7)  # the console's display_timezone, Asia/Ho_Chi_Minh (no summer time)


@pytest.fixture(scope="module")
def scene(console: Console) -> Console:
    live = console.live
    store = live.runtime.store
    assert live.runtime.settings.display_timezone == "Asia/Ho_Chi_Minh"
    codes = [f"Bo_Thu_Tuc_Cap_Huyen-221126-{n:04d}" for n in range(10, 10 + SENT)]
    send_guide_documents(live.client(ONESTOP), live.runtime.dev_keys.identity(guide.ONESTOP.organ_id), codes, DOSSIER)
    policy = {"breaker_threshold": THRESHOLD, "retry_horizon": 0, "probe_interval": 3600}  # no probe while we look
    settings = DeliverySettings(partners={AGENCY: policy})
    lane = DeliveryWorker(store, PartnerClients(Timeouts(2, 2)), settings).lane(AGENCY)
    while lane.run_once() is not None:  # until the open breaker stops the calls
        pass
    assert store.partner_queue(AGENCY).breaker is BreakerState.OPEN
    assert len(store.outbox_items(state=OutboxState.PENDING, system_id=AGENCY)) == SENT - THRESHOLD
    store.import_directory(
        Directory(systems=[SystemEntry(PULL, "000.00.32.H31", SystemKind.DOCMGMT, None, DeliveryMode.PULL)])
    )
    seed_exchanges(store, PULL, PAGED, PAGED_FROM, prefix="paged")
    return console


@pytest.fixture(scope="module")
def chromium() -> tuple[str, str]:
    """Asked for before the scene: without a browser, nothing is built."""
    return require_chromium()


@pytest.fixture(scope="module")
def ui(chromium: tuple[str, str], scene: Console, tmp_path_factory) -> Iterator[Ui]:
    folder = tmp_path_factory.mktemp("browser")
    driver = start_chromium(chromium, folder)
    yield Ui(driver, scene, folder / "downloads")
    driver.quit()


@pytest.fixture
def operator(ui: Ui) -> Ui:
    """The module's browser, logged in as the operator ``an``."""
    ui.login("an")
    return ui


def shows_vietnam_time(element: WebElement, stored: datetime) -> None:
    """A ``<time>`` shows the stored UTC time plus 7 hours, and UTC in its tooltip."""
    assert element.text == f"{stored + VIETNAM:%Y-%m-%d %H:%M:%S}"
    assert element.get_attribute("title") == f"UTC {stored:%Y-%m-%d %H:%M:%S}"


def operator_actions(console: Console) -> list[tuple[str, dict]]:
    return [(r.actor, r.data) for r in console.live.runtime.store.evidence.records() if r.kind.value == "operator"]


def test_an_operator_logs_in_and_works_through_a_dossier(ui):
    ui.logout()
    ui.open("/admin/exchanges")  # not logged in: to the login form
    assert ui.path == "/admin/login"
    ui.shot("login.png")
    ui.login("an")
    row = ui.one(f"#partner-{AGENCY}")  # its deliveries are dead letters
    assert "partner unreachable" in row.text and "transport:" not in row.text  # the raw text is folded
    row.find_element(By.TAG_NAME, "summary").click()
    assert "transport:" in row.find_element(By.CSS_SELECTOR, "details code").text

    ui.open("/admin/exchanges")
    ui.one("#q").send_keys(guide.DOSSIER_CODE)
    ui.click(ui.one("#search"))
    links = ui.all(".exchange-link")
    assert [link.text for link in links] == [guide.DOSSIER_CODE]

    ui.click(links[0])
    assert ui.one("#state").text == "Đã phân công assigned"  # the label, then the code
    rows = ui.one("#timeline").find_elements(By.TAG_NAME, "tr")[1:]
    states = [row.find_elements(By.TAG_NAME, "td")[1].find_element(By.TAG_NAME, "code").text for row in rows]
    assert states[:2] == ["accepted", "assigned"]  # then the transport events of the failed deliveries
    verdicts = [v.text for v in ui.all(".verdict")]
    assert len(verdicts) == 2 and all(v.startswith("Hợp lệ / valid") for v in verdicts)
    ui.shot("timeline.png")

    ui.one("#bundle").click()
    bundle = wait_for_file(ui.downloads, ".zip")
    ca = x509.load_pem_x509_certificates(ui.console.live.runtime.dev_keys.ca_path.read_bytes())
    verdict = verify_bundle(bundle.read_bytes(), ca, SignerPin(organ_id=CONNECTOR_ORG.organ_id))
    assert verdict.valid, verdict.failures

    ui.open("/admin/outbox?state=dead")
    ui.shot("outbox.png")
    dead_item = ui.console.dead_item  # the guide's document; the read-only test below uses the other
    ui.click(ui.one(f"#item-{dead_item} .retry"))
    ui.click(ui.one("#confirm"))  # a retry asks first
    assert str(dead_item) in ui.one("#notice").text
    assert ui.console.live.runtime.store.outbox_item(dead_item).state is OutboxState.PENDING

    ui.open("/admin/evidence?verify=1")
    assert ui.one("#chain-ok")
    ui.shot("evidence.png")
    ui.open("/admin/certificates")
    ui.shot("certificates.png")


def test_the_landing_page_shows_the_partner_whose_breaker_is_open(operator):
    store = operator.console.live.runtime.store
    operator.open("/admin")
    assert operator.path == "/admin/partners"
    queue = store.partner_queue(AGENCY)
    assert queue.breaker is BreakerState.OPEN
    row = operator.one(f"#partner-{AGENCY}")
    breaker = row.find_element(By.CLASS_NAME, "breaker")
    assert "Ngắt (đối tác lỗi)" in breaker.text and "waiting for the partner since" in breaker.text
    shows_vietnam_time(breaker.find_element(By.TAG_NAME, "time"), queue.breaker_since)
    backlog = store.outbox_items(state=OutboxState.PENDING, system_id=AGENCY)
    dead = store.outbox_items(state=OutboxState.DEAD, system_id=AGENCY)
    assert len(backlog) >= SENT - THRESHOLD and len(dead) >= THRESHOLD
    assert row.find_element(By.CLASS_NAME, "backlog").text == str(len(backlog))
    assert row.find_element(By.CLASS_NAME, "dead-count").text == str(len(dead))
    assert "partner unreachable" in row.find_element(By.CLASS_NAME, "last-error").text
    operator.shot("partners.png")


def test_pausing_and_resuming_a_partner_through_the_buttons(operator):
    store = operator.console.live.runtime.store
    reason = "bảo trì đường truyền / line maintenance"
    operator.open("/admin/partners")
    operator.click(operator.one(f"#partner-{AGENCY} a.pause"))
    assert operator.path == f"/admin/partners/{AGENCY}/pause"
    assert store.partner_queue(AGENCY).paused is False  # asking changes nothing
    operator.one("#reason").send_keys(reason)
    operator.shot("confirm.png")
    operator.click(operator.one("#confirm"))
    assert operator.path == f"/admin/partners?done=pause&system={AGENCY}"
    assert "paused" in operator.one("#notice").text
    assert operator.one(f"#partner-{AGENCY} .paused").text == f"Tạm dừng paused: {reason}"
    assert store.partner_queue(AGENCY).paused

    operator.click(operator.one(f"#partner-{AGENCY} a.resume"))
    assert operator.path == f"/admin/partners/{AGENCY}/resume"
    operator.click(operator.one("#confirm"))
    assert "resumed" in operator.one("#notice").text
    assert operator.one(f"#partner-{AGENCY} .paused").text == "không no"
    assert operator.all(f"#partner-{AGENCY} a.pause")  # the button is back
    assert operator_actions(operator.console)[-2:] == [
        ("admin:an", {"action": "pause", "system_id": AGENCY, "reason": reason}),
        ("admin:an", {"action": "resume", "system_id": AGENCY, "reason": None}),
    ]


def test_retrying_all_dead_letters_of_a_partner_says_how_many_first(operator):
    store = operator.console.live.runtime.store
    dead = [item.item_id for item in store.outbox_items(state=OutboxState.DEAD, system_id=AGENCY)]
    assert len(dead) >= THRESHOLD
    operator.open("/admin/partners")
    operator.click(operator.one(f"#partner-{AGENCY} a.retry-dead"))
    assert f"Retry all {len(dead)} dead letters of {AGENCY}?" in operator.one("#retry-count").text
    assert all(store.outbox_item(i).state is OutboxState.DEAD for i in dead)  # asking changes nothing
    operator.click(operator.one("#confirm"))
    assert operator.path == f"/admin/partners?done=retry-dead&system={AGENCY}&count={len(dead)}"
    assert f"{len(dead)} văn bản được xếp gửi lại" in operator.one("#notice").text
    row = operator.one(f"#partner-{AGENCY}")
    assert row.find_element(By.CLASS_NAME, "dead-count").text == "0"
    assert operator.all(f"#partner-{AGENCY} a.retry-dead") == []
    assert all(store.outbox_item(i).state is OutboxState.PENDING for i in dead)
    actions = operator_actions(operator.console)
    assert all(("admin:an", {"action": "retry", "item_id": i}) in actions for i in dead)


def pager(ui: Ui) -> tuple[int, int, int]:
    """The pager's "first–last of total" (thousands separators, if any, aside)."""
    text = ui.one(".pager .total").text
    first, last, total = (int(re.sub(r"\D", "", n)) for n in re.findall(r"\d+(?:[.,\u00a0\u202f]\d{3})*", text)[:3])
    return first, last, total


def exchange_rows(ui: Ui) -> list[tuple[str, WebElement]]:
    """Each row's exchange id and its creation time."""
    rows = ui.one("#exchanges").find_elements(By.TAG_NAME, "tr")[1:]
    return [
        (
            row.find_element(By.CLASS_NAME, "exchange-link").get_attribute("href").rsplit("/", 1)[1],
            row.find_element(By.TAG_NAME, "time"),
        )
        for row in rows
    ]


def test_paging_through_a_thousand_exchanges_keeps_the_filters_and_shows_vietnam_time(operator):
    store = operator.console.live.runtime.store
    operator.open("/admin/exchanges")
    everything = store.count_exchanges()
    assert everything > PAGED and pager(operator) == (1, 50, everything)

    Select(operator.one("select[name=state]")).select_by_value("accepted")
    for name in ("from", "to"):  # a date input's typing depends on the browser's locale: set its value
        operator.driver.execute_script(
            "arguments[0].value = arguments[1]", operator.one(f"input[name={name}]"), PAGED_DAY
        )
    operator.click(operator.one("#search"))
    filters = ("state=accepted", f"from={PAGED_DAY}", f"to={PAGED_DAY}")

    def kept() -> None:
        assert all(f in operator.path for f in filters)
        assert Select(operator.one("select[name=state]")).first_selected_option.get_attribute("value") == "accepted"
        assert operator.one("input[name=from]").get_attribute("value") == PAGED_DAY

    kept()
    assert pager(operator) == (1, 50, PAGED)
    first = exchange_rows(operator)
    assert [x for x, _ in first] == [f"paged-{i:04d}" for i in range(PAGED - 1, PAGED - 51, -1)]  # newest first
    for exchange_id, shown in first[:3]:
        shows_vietnam_time(shown, store.exchange(exchange_id).created_at)

    operator.click(operator.one(".page-next"))
    assert "page=2" in operator.path
    kept()
    assert pager(operator) == (51, 100, PAGED)
    assert [x for x, _ in exchange_rows(operator)] == [f"paged-{i:04d}" for i in range(PAGED - 51, PAGED - 101, -1)]
    operator.shot("exchanges.png")

    operator.click(operator.one(".page-last"))
    assert f"page={PAGED // 50}" in operator.path
    kept()
    assert pager(operator) == (PAGED - 49, PAGED, PAGED)
    assert operator.all(".page-next") == []
    last = exchange_rows(operator)
    assert [x for x, _ in last] == [f"paged-{i:04d}" for i in range(49, -1, -1)]
    oldest = last[-1][1]  # the day's first: 18:00 UTC is 01:00 the next day in Vietnam
    assert (oldest.text, oldest.get_attribute("title")) == ("2026-01-01 01:00:00", "UTC 2025-12-31 18:00:00")


def test_a_name_typed_without_diacritics_finds_the_applicant(operator):
    store = operator.console.live.runtime.store
    applicant = DOSSIER["applicant"]  # "Nguyễn Văn An": every document the scene sent over SOAP
    sent = [x for x in store.search_exchanges(limit=PAGED * 2) if x.applicant == applicant]
    assert len(sent) >= SENT
    for typed in ("nguyen van an", "NGUYỄN văn AN"):
        operator.open("/admin/exchanges")
        operator.one("#q").send_keys(typed)
        operator.click(operator.one("#search"))
        assert pager(operator) == (1, len(sent), len(sent))
        shown = [row.find_elements(By.TAG_NAME, "td")[1].text for row in operator.all("#exchanges tr")[1:]]
        assert shown == [applicant] * len(sent)
    operator.shot("search.png")


def test_the_partners_page_charts_the_documents_accepted_today(operator):
    store = operator.console.live.runtime.store
    operator.open("/admin/partners")
    charts = operator.all("#charts svg[role=img]")
    labels = [chart.get_attribute("aria-label") for chart in charts]
    recent = store.count_exchanges() - PAGED  # the paged exchanges are a year old; the rest are from now
    assert f"Đã nhận / accepted: {recent} in the last 24 h" in labels
    accepted = charts[labels.index(f"Đã nhận / accepted: {recent} in the last 24 h")]
    bars = [t.get_attribute("textContent") for t in accepted.find_elements(By.CSS_SELECTOR, ".bar title")]
    assert len(bars) == 24 and sum(int(re.search(r": (\d+) ", b)[1]) for b in bars) == recent
    operator.click(operator.one("#window-7d"))
    assert "window=7d" in operator.path and len(operator.all("#charts svg[role=img]")) == len(charts)


def test_a_read_only_operator_sees_no_buttons(ui):
    ui.login("binh")
    ui.open("/admin/partners")
    assert ui.one(f"#partner-{AGENCY}") and ui.all("#partners .actions, a.pause, a.resume, a.retry-dead") == []
    ui.open(f"/admin/partners/{AGENCY}/pause")  # the confirmation page, reached by its address
    assert ui.all("#confirm") == []
    ui.open("/admin/outbox?state=dead")
    assert ui.one(f"#item-{ui.console.dead_items[1]}")
    assert ui.all(".retry") == []
    ui.open("/admin/evidence")
    assert ui.all("#sign-head") == []
