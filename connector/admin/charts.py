"""Time-series charts as SVG drawn on the server: the console runs no script and loads nothing
from elsewhere, so a chart is markup like the rest of the page.

A chart takes one series of (bucket start, value) and says it three ways: bars or a line with
axes and tick labels in the display zone, a ``<title>`` per bar or point (the browser shows it on
hover), and an ``aria-label`` that sums it up for a screen reader.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup

from connector.admin.words import Clock
from connector.store import Activity

WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 8, 22  # room for the value axis on the left, the times below
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Window:
    """A chart's time span: ``count`` buckets of ``width``, the last one holding now."""

    key: str
    """Its ``?window=`` value."""
    width: timedelta
    count: int
    label_every: timedelta
    """A tick label at each bucket starting a multiple of this after midnight, in the display zone."""
    vi: str
    en: str

    def start(self, now: datetime, clock: Clock) -> datetime:
        """The first bucket's start (UTC). Buckets begin at whole multiples of ``width`` after
        midnight in the display zone, so a day's bars start at 00:00 there, not in UTC."""
        local = clock.local(now)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        current = midnight + ((local - midnight) // self.width) * self.width
        return (current - self.width * (self.count - 1)).astimezone(UTC)


WINDOWS = {
    w.key: w
    for w in (
        Window("24h", timedelta(hours=1), 24, timedelta(hours=3), "24 giờ qua", "in the last 24 h"),
        Window("7d", timedelta(hours=6), 28, timedelta(days=1), "7 ngày qua", "in the last 7 days"),
    )
}
DEFAULT_WINDOW = WINDOWS["24h"]


@dataclass(frozen=True)
class Series:
    vi: str
    en: str
    points: Sequence[tuple[datetime, int]]
    """(bucket start, value), oldest first."""
    level: bool = False
    """A level at each bucket's end, drawn as a line (the backlog); else a count per bucket, as bars."""
    css: str = ""


def activity_series(activity: Activity, per_partner: bool) -> list[Series]:
    """The console's four charts of a window (``Store.activity``; docs/admin.md says what each counts)."""
    starts = activity.starts
    return [
        Series(
            "Xếp gửi" if per_partner else "Đã nhận",
            "queued" if per_partner else "accepted",
            list(zip(starts, activity.accepted, strict=True)),
            css="accepted",
        ),
        Series("Đã chuyển", "delivered", list(zip(starts, activity.delivered, strict=True)), css="delivered"),
        Series("Lần gửi lỗi", "failed attempts", list(zip(starts, activity.failed, strict=True)), css="failed"),
        Series("Tồn đọng", "backlog", list(zip(starts, activity.backlog, strict=True)), level=True, css="backlog"),
    ]


def chart(series: Series, window: Window, clock: Clock) -> Markup:
    values = [v for _, v in series.points]
    top = _nice(max(values, default=0))
    empty = not any(values)
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "class": f"chart {series.css}".strip(),
            "role": "img",
            "aria-label": _summary(series, window, values, empty),
        },
    )
    for value in sorted({0, top // 2, top} if top % 2 == 0 else {0, top}):
        y = _y(value, top)
        ET.SubElement(svg, "line", {"class": "grid", "x1": str(LEFT), "x2": str(WIDTH - RIGHT), "y1": y, "y2": y})
        label = ET.SubElement(svg, "text", {"class": "y-label", "x": str(LEFT - 4), "y": y, "text-anchor": "end"})
        label.text = str(value)
    slot = PLOT_W / max(len(series.points), 1)
    for i, (start, _) in enumerate(series.points):
        local = clock.local(start)
        since_midnight = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
        if since_midnight % window.label_every:
            continue
        x = _f(LEFT + i * slot)
        ET.SubElement(
            svg, "line", {"class": "tick", "x1": x, "x2": x, "y1": str(TOP + PLOT_H), "y2": str(TOP + PLOT_H + 4)}
        )
        text = ET.SubElement(svg, "text", {"class": "x-label", "x": x, "y": str(HEIGHT - 6), "text-anchor": "middle"})
        text.text = f"{local:%H:%M}" if window.label_every < timedelta(days=1) else f"{local:%d/%m}"
    ET.SubElement(
        svg, "line", {"class": "axis", "x1": str(LEFT), "x2": str(LEFT), "y1": str(TOP), "y2": str(TOP + PLOT_H)}
    )
    base = str(TOP + PLOT_H)
    ET.SubElement(svg, "line", {"class": "axis", "x1": str(LEFT), "x2": str(WIDTH - RIGHT), "y1": base, "y2": base})
    if empty:
        text = ET.SubElement(
            svg,
            "text",
            {"class": "no-data", "x": _f(LEFT + PLOT_W / 2), "y": _f(TOP + PLOT_H / 2), "text-anchor": "middle"},
        )
        text.text = f"Không có số liệu / no data {window.en}"
    elif series.level:
        _line(svg, series, window, clock, slot, top)
    else:
        _bars(svg, series, window, clock, slot, top)
    return Markup(ET.tostring(svg, encoding="unicode"))


def _bars(svg: ET.Element, series: Series, window: Window, clock: Clock, slot: float, top: int) -> None:
    for i, (start, value) in enumerate(series.points):
        y = _y(value, top)
        bar = ET.SubElement(
            svg,
            "rect",
            {
                "class": "bar",
                "x": _f(LEFT + i * slot + slot * 0.1),
                "y": y,
                "width": _f(slot * 0.8),
                "height": _f(TOP + PLOT_H - float(y)),
            },
        )
        local, end = clock.local(start), clock.local(start + window.width)
        ET.SubElement(bar, "title").text = f"{local:%d/%m %H:%M}–{end:%H:%M}: {value} {series.en}"


def _line(svg: ET.Element, series: Series, window: Window, clock: Clock, slot: float, top: int) -> None:
    """Each value at its bucket's end: the last one is now."""
    points = [(LEFT + (i + 1) * slot, _y(value, top)) for i, (_, value) in enumerate(series.points)]
    ET.SubElement(svg, "polyline", {"class": "line", "points": " ".join(f"{_f(x)},{y}" for x, y in points)})
    last = len(series.points) - 1
    for i, ((start, value), (x, y)) in enumerate(zip(series.points, points, strict=True)):
        dot = ET.SubElement(svg, "circle", {"class": "point", "cx": _f(x), "cy": y, "r": "2.5"})
        when = "bây giờ / now" if i == last else f"{clock.local(start + window.width):%d/%m %H:%M}"
        ET.SubElement(dot, "title").text = f"{when}: {value} {series.en}"


def _summary(series: Series, window: Window, values: list[int], empty: bool) -> str:
    name = f"{series.vi} / {series.en}"
    if empty:
        return f"{name}: 0 {window.en} (không có số liệu / no data)"
    if series.level:
        return f"{name}: {values[-1]} now, at most {max(values)} {window.en}"
    return f"{name}: {sum(values)} {window.en}"


def _nice(value: int) -> int:
    """The value axis's top: 1, 2 or 5 times a power of ten, at least ``value`` (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _y(value: int, top: int) -> str:
    return _f(TOP + PLOT_H - PLOT_H * value / top)


def _f(number: float) -> str:
    return f"{number:.1f}".removesuffix(".0")
