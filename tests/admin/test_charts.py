"""The console's charts as SVG (``connector/admin/charts.py``): bars and points for known data,
their hover titles, tick labels in the display zone, windows aligned to its midnight, and an
honest chart when there is nothing to show."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from connector.admin.charts import WINDOWS, Series, activity_series, chart
from connector.admin.words import Clock
from connector.store import Activity

SVG = "{http://www.w3.org/2000/svg}"
CLOCK = Clock("Asia/Ho_Chi_Minh")
START = datetime(2026, 5, 4, 17, 0, tzinfo=UTC)  # 00:00 on 5 May in Vietnam


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def _hourly(values: list[int]) -> list[tuple[datetime, int]]:
    return [(START + timedelta(hours=i), v) for i, v in enumerate(values)]


def test_bars_for_counts_with_their_values_in_titles_and_vietnam_hours():
    values = [0] * 24
    values[0], values[9], values[23] = 3, 7, 1
    svg = _parse(chart(Series("Đã nhận", "accepted", _hourly(values)), WINDOWS["24h"], CLOCK))
    assert svg.get("role") == "img" and svg.get("aria-label") == "Đã nhận / accepted: 11 in the last 24 h"
    bars = svg.findall(f"{SVG}rect[@class='bar']")
    assert len(bars) == 24
    titles = [bar.find(f"{SVG}title").text for bar in bars]
    assert titles[0] == "05/05 00:00–01:00: 3 accepted"  # 17:00 UTC is midnight in Vietnam
    assert titles[9] == "05/05 09:00–10:00: 7 accepted" and titles[23] == "05/05 23:00–00:00: 1 accepted"
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[9] > heights[0] > heights[23] > 0 and heights[1] == 0
    x_labels = [t.text for t in svg.findall(f"{SVG}text[@class='x-label']")]
    assert x_labels == ["00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00"]
    assert [t.text for t in svg.findall(f"{SVG}text[@class='y-label']")] == ["0", "5", "10"]  # 7 rounds up to 10


def test_a_level_is_a_line_of_points_at_each_buckets_end():
    values = [4] * 23 + [2]
    svg = _parse(chart(Series("Tồn đọng", "backlog", _hourly(values), level=True), WINDOWS["24h"], CLOCK))
    assert svg.get("aria-label") == "Tồn đọng / backlog: 2 now, at most 4 in the last 24 h"
    points = svg.findall(f"{SVG}circle[@class='point']")
    assert len(points) == 24 and len(svg.find(f"{SVG}polyline").get("points").split()) == 24
    assert points[0].find(f"{SVG}title").text == "05/05 01:00: 4 backlog"
    assert points[-1].find(f"{SVG}title").text == "bây giờ / now: 2 backlog"
    assert svg.findall(f"{SVG}rect") == []


def test_a_week_in_six_hour_bars_labelled_by_day():
    week = WINDOWS["7d"]
    points = [(START + week.width * i, i) for i in range(week.count)]
    svg = _parse(chart(Series("Đã chuyển", "delivered", points), week, CLOCK))
    assert len(svg.findall(f"{SVG}rect[@class='bar']")) == 28
    assert [t.text for t in svg.findall(f"{SVG}text[@class='x-label']")] == [f"{d:02d}/05" for d in range(5, 12)]
    assert svg.get("aria-label") == f"Đã chuyển / delivered: {sum(range(28))} in the last 7 days"


def test_an_empty_window_says_so():
    svg = _parse(chart(Series("Lần gửi lỗi", "failed attempts", _hourly([0] * 24)), WINDOWS["24h"], CLOCK))
    assert svg.get("aria-label") == "Lần gửi lỗi / failed attempts: 0 in the last 24 h (không có số liệu / no data)"
    assert svg.findall(f"{SVG}rect") == []
    assert svg.find(f"{SVG}text[@class='no-data']").text == "Không có số liệu / no data in the last 24 h"
    assert len(svg.findall(f"{SVG}text[@class='x-label']")) == 8  # the time axis is still there


def test_windows_start_at_whole_buckets_of_the_display_zone():
    now = datetime(2026, 5, 5, 10, 20, tzinfo=UTC)  # 17:20 in Vietnam
    assert WINDOWS["24h"].start(now, CLOCK) == datetime(2026, 5, 4, 11, 0, tzinfo=UTC)  # 18:00 the day before
    # The current six hours started at 12:00 Vietnam time; 27 more before it.
    assert WINDOWS["7d"].start(now, CLOCK) == datetime(2026, 5, 5, 5, 0, tzinfo=UTC) - timedelta(hours=6 * 27)


def test_the_four_series_of_an_activity():
    starts = tuple(START + timedelta(hours=i) for i in range(2))
    activity = Activity(starts, timedelta(hours=1), (5, 1), (4, 0), (1, 2), (3, 4))
    everyone = activity_series(activity, per_partner=False)
    assert [(s.en, s.level, [v for _, v in s.points]) for s in everyone] == [
        ("accepted", False, [5, 1]),
        ("delivered", False, [4, 0]),
        ("failed attempts", False, [1, 2]),
        ("backlog", True, [3, 4]),
    ]
    assert activity_series(activity, per_partner=True)[0].en == "queued"
