"""Issue 24 over real HTTP: the exchanges page finds Vietnamese names without diacritics and
documents by Số ký hiệu; every paged list (exchanges, outbox, evidence records and signed heads,
the directory's sections) says its total, keeps its filters across pages, and answers a page
past its last with the last page and a notice."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from connector.exchange.directory import Directory, OrganizationEntry
from simulators import guide
from tests.store.test_search import add

SEEDED = 61  # one page of 50 and 11 on the second
ORGANISATIONS = 61


@pytest.fixture(scope="module")
def seeded(console):
    store = console.live.runtime.store
    # The guide's dossier, sent through sendDocument, is Nguyễn Văn An's, "02/LT_iGate".
    add(store, "le-duc", "Lê Văn Đức", "123/QĐ-UBND", timedelta(days=2))
    add(store, "thi-binh", "NGUYỄN THỊ BÌNH", "45/2024/NĐ-CP", timedelta(days=2))
    for i in range(SEEDED):
        add(store, f"hang-{i:03d}", f"Đặng Thị Hằng {i:03d}", f"{i}/TB-STP", timedelta(hours=1, seconds=-i))
    organisations = [OrganizationEntry(f"000.00.{i:02d}.Z99", f"Phòng Tư pháp số {i}") for i in range(ORGANISATIONS)]
    store.import_directory(Directory(organizations=organisations))
    for _ in range(51):  # one page of 50 signed heads and one more
        console.live.runtime.notary.sign_head()
    return console


def ids(page: str) -> list[str]:
    return re.findall(r'class="exchange-link" href="/admin/exchanges/([^"]+)"', page)


def total(page: str, list_name: str = "page") -> tuple[str, str]:
    """A list's "first–last" and its total, as its pager says them."""
    pager = page.split(f'data-list="{list_name}"')[1]
    shown = re.search(r'<span class="total">(\d+)–(\d+) / tổng <span class="total-count">(\d+)</span>', pager)
    assert shown is not None, pager[:300]
    return f"{shown[1]}–{shown[2]}", shown[3]


def get(console, path: str, operator: str = "binh", **params: str) -> str:
    answer = console.session(operator).get(f"{console.url}{path}", params=params, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_a_name_is_found_without_diacritics_or_case(seeded):
    page = get(seeded, "/admin/exchanges", q="nguyen van an")
    assert total(page) == ("1–1", "1")
    assert guide.DOSSIER_CODE in page and '<td class="applicant">Nguyễn Văn An</td>' in page
    (sent,) = ids(page)  # the exchange sendDocument recorded
    assert ids(get(seeded, "/admin/exchanges", q="NGUYEN")) == [sent, "thi-binh"]
    assert ids(get(seeded, "/admin/exchanges", q="Nguyễn Thị Bình")) == ["thi-binh"]
    assert ids(get(seeded, "/admin/exchanges", q="le van duc")) == ids(get(seeded, "/admin/exchanges", q="ĐỨC"))


def test_a_document_is_found_by_its_so_ky_hieu(seeded):
    for typed in ("123/QĐ-UBND", "123/qd-ubnd", "QD-UBND"):
        assert ids(get(seeded, "/admin/exchanges", q=typed)) == ["le-duc"], typed
    assert ids(get(seeded, "/admin/exchanges", q="45/2024/nđ-cp")) == ["thi-binh"]
    assert ids(get(seeded, "/admin/exchanges", q="02/lt_igate")) == ids(
        get(seeded, "/admin/exchanges", q="nguyen van an")
    )


def test_a_search_pages_with_its_total_and_keeps_its_filters(seeded):
    first = get(seeded, "/admin/exchanges", q="dang thi hang", state="accepted")
    assert total(first) == ("1–50", str(SEEDED))
    assert 'href="/admin/exchanges?q=dang+thi+hang&amp;state=accepted&amp;page=2"' in first
    second = get(seeded, "/admin/exchanges", q="dang thi hang", state="accepted", page="2")
    assert total(second) == ("51–61", str(SEEDED))
    assert 'value="dang thi hang"' in second and '<option value="accepted" selected>' in second
    both = ids(first) + ids(second)
    assert len(both) == len(set(both)) == SEEDED  # none twice, none lost
    assert both[0] == "hang-060" and both[-1] == "hang-000"  # newest first


def test_a_page_past_the_last_shows_the_last_page_and_says_so(seeded):
    page = get(seeded, "/admin/exchanges", q="dang thi hang", page="99")
    assert total(page) == ("51–61", str(SEEDED))
    assert len(ids(page)) == SEEDED - 50
    assert "there is no page 99: this is the last page, 2" in page
    assert "Trang 2 / 2" in page and 'class="page-next"' not in page
    assert "there is no page" not in get(seeded, "/admin/exchanges", q="dang thi hang", page="2")
    nothing = get(seeded, "/admin/exchanges", q="khong co ai", page="3")  # an empty list has one page
    assert total(nothing) == ("0–0", "0") and "there is no page 3: this is the last page, 1" in nothing


def test_the_outbox_past_its_last_page(seeded):
    dead = get(seeded, "/admin/outbox", "an", state="dead", page="7")
    assert total(dead) == ("1–2", "2") and len(re.findall(r'id="item-\d+"', dead)) == 2
    assert "there is no page 7: this is the last page, 1" in dead
    assert "/retry?back=/admin/outbox%3Fstate%3Ddead" in dead  # a retry returns to the page shown


def test_evidence_records_and_signed_heads_page_separately(seeded):
    head = seeded.live.runtime.store.evidence.head()[0]
    page = get(seeded, "/admin/evidence")
    assert total(page) == ("1–50", str(head)) and total(page, "heads_page") == ("1–50", "51")
    records = [int(n) for n in re.findall(r'<tr class="record" id="record-(\d+)"', page)]
    assert records == list(range(head, head - 50, -1))  # newest first
    assert len(re.findall(r'<tr class="head">', page)) == 50
    assert 'href="/admin/evidence?heads_page=2#heads"' in page

    heads = get(seeded, "/admin/evidence", page="2", heads_page="2", verify="1")
    assert total(heads, "heads_page") == ("51–51", "51") and len(re.findall(r'<tr class="head">', heads)) == 1
    assert 'id="chain-ok"' in heads
    # The records' links keep the heads' page, and never run the audit again.
    assert 'href="/admin/evidence?heads_page=2&amp;page=3#records"' in heads
    assert "verify=1&amp;" not in heads and "&amp;verify=1" not in heads

    last = -(-head // 50)
    past = get(seeded, "/admin/evidence", page="999", heads_page="999")
    assert f"there is no page 999: this is the last page, {last}" in past
    assert "there is no page 999: this is the last page, 2" in past
    records = [int(n) for n in re.findall(r'<tr class="record" id="record-(\d+)"', past)]
    assert records == list(range(head - 50 * (last - 1), 0, -1))


def test_the_directory_pages_each_section_in_a_stable_order_with_its_filter(seeded):
    store = seeded.live.runtime.store
    organisations = len(store.directory().organizations)
    page = get(seeded, "/admin/directory")
    assert total(page, "organizations_page") == ("1–50", str(organisations))
    shown = re.findall(r'<tr class="organization"><td class="mono">([^<]+)</td>', page)
    second = get(seeded, "/admin/directory", organizations_page="2")
    shown += re.findall(r'<tr class="organization"><td class="mono">([^<]+)</td>', second)
    assert shown == sorted(o.organ_id for o in store.directory().organizations)  # all, once, by id

    found = get(seeded, "/admin/directory", q="phong tu phap", organizations_page="2")
    assert total(found, "organizations_page") == ("51–61", str(ORGANISATIONS))
    assert 'href="/admin/directory?q=phong+tu+phap#organizations"' in found  # back to page 1, filter kept
    assert total(found, "systems_page") == ("0–0", "0")  # the filter holds for every section
    systems = get(seeded, "/admin/directory", q="IGATE-HUNGYEN", organizations_page="2")
    assert total(systems, "systems_page") == ("1–1", "1") and "there is no page 2: this is the last page, 1" in systems


def test_a_page_number_or_search_text_out_of_bounds_is_answered_not_crashed(seeded):
    huge = get(seeded, "/admin/outbox", "an", state="dead", page="9" * 30)  # past any database offset
    assert "there is no page 1000000: this is the last page, 1" in huge
    http = seeded.session("an")
    for path in ("/admin/exchanges", "/admin/directory"):
        answer = http.get(f"{seeded.url}{path}", params={"q": "nguyen " * 40}, timeout=10)
        assert answer.status_code == 400 and "search text (q): at most 200 characters" in answer.text
    assert http.get(f"{seeded.url}/admin/exchanges", params={"q": "n" * 200}, timeout=10).status_code == 200
