"""What the console says in words instead of codes: a failure's class from the raw attempt
error, Vietnamese labels of states, and times in the display time zone with UTC beside them.

An attempt's error starts with its kind (``timeout:``, ``transport:``, ``http:``, ...) or a SOAP
fault code (``Client.Rejected: ...``): ``connector/delivery/classify.py`` writes them so. Errors
stored before that, and a breaker's opening error, may be raw exception text; those are guessed
from well-known phrases, and anything else is "another error" with the raw text behind it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup


@dataclass(frozen=True)
class ErrorWords:
    """A failure as a person reads it: the class in Vietnamese and English, and the raw text."""

    vi: str
    en: str
    raw: str


_FAULT = re.compile(r"^((?:Client|Server|Sender|Receiver)(?:\.[\w.-]+)?):")
_HTTP_STATUS = re.compile(r"HTTP (\d{3})")
_TLS = re.compile(r"SSL|TLS|certificate verify", re.IGNORECASE)
_UNREACHABLE = re.compile(
    r"Connection refused|Max retries exceeded|Name or service not known|NameResolution|"
    r"No route to host|Connection reset|Failed to establish|RemoteDisconnected",
    re.IGNORECASE,
)
_TIMEOUT = re.compile(r"timed? ?out", re.IGNORECASE)


def error_words(raw: str | None) -> ErrorWords | None:
    if not raw:
        return None
    fault = _FAULT.match(raw)
    if fault:
        code = fault[1]
        if code.startswith(("Client", "Sender")):
            return ErrorWords(f"Đối tác từ chối văn bản (lỗi {code})", f"partner refused it with fault {code}", raw)
        return ErrorWords(f"Đối tác gặp lỗi nội bộ (lỗi {code})", f"partner failed with fault {code}", raw)
    kind = raw.split(":", 1)[0] if ":" in raw[:20] else ""
    if kind == "transport" or (not kind and _UNREACHABLE.search(raw)):
        if _TLS.search(raw):
            return ErrorWords("Lỗi kết nối bảo mật TLS", "TLS error", raw)
        return ErrorWords("Không kết nối được tới đối tác", "partner unreachable", raw)
    if kind == "timeout" or (not kind and _TIMEOUT.search(raw)):
        return ErrorWords("Đối tác không trả lời kịp (hết thời gian chờ)", "partner timed out", raw)
    if kind == "http":
        status = _HTTP_STATUS.search(raw)
        code = f" HTTP {status[1]}" if status else ""
        return ErrorWords(f"Đối tác trả lỗi{code}", f"partner answered with an HTTP error{code}", raw)
    simple = {
        "protocol": ("Đối tác trả lời sai hợp đồng", "the partner's answer breaks the contract"),
        "contract": ("Yêu cầu không khớp hợp đồng của đối tác", "our request does not fit the partner's contract"),
        "credentials": ("Cổng API từ chối thông tin xác thực", "credentials rejected by the gateway"),
        "throttled": ("Cổng API giới hạn tần suất gọi", "gateway throttling"),
        "internal": ("Lỗi nội bộ của hệ thống kết nối", "internal error in the connector"),
    }
    if kind in simple:
        return ErrorWords(*simple[kind], raw)
    return ErrorWords("Lỗi khác", "other error", raw)


STATE_LABELS: dict[str, str] = {
    # outbox items
    "pending": "Đang chờ gửi",
    "fetched": "Đối tác đã lấy",
    "delivered": "Đã chuyển",
    "dead": "Gửi thất bại",
    # exchanges
    "accepted": "Đã tiếp nhận",
    "arrived": "Đã đến",
    "refused": "Bị từ chối",
    "registered": "Đã vào sổ",
    "assigned": "Đã phân công",
    "in_progress": "Đang xử lý",
    "finished": "Đã có kết quả",
    "taken_back": "Yêu cầu lấy lại",
    "recalled": "Đã trả lại",
    "revoked": "Đã thu hồi",
    # breakers
    "open": "Ngắt (đối tác lỗi)",
    "closed": "Bình thường",
}


def state_label(code: object) -> Markup:
    """``Đang chờ gửi <code>pending</code>``: the label people read, and the code they grep for."""
    value = str(getattr(code, "value", code))
    label = STATE_LABELS.get(value)
    if label is None:
        return Markup('<code class="state">{}</code>').format(value)
    return Markup('{} <code class="state">{}</code>').format(label, value)


class Clock:
    """Times in the display time zone; UTC in the ``title`` tooltip and ``datetime`` attribute."""

    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)
        self.name = zone

    def local(self, value: datetime) -> datetime:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # stored times are UTC
        return aware.astimezone(self.zone)

    def when(self, value: datetime | None) -> Markup:
        if value is None:
            return Markup("–")
        utc = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)
        local = self.local(utc)
        return Markup('<time datetime="{}" title="UTC {}">{}</time>').format(
            utc.isoformat(), f"{utc:%Y-%m-%d %H:%M:%S}", f"{local:%Y-%m-%d %H:%M:%S}"
        )

    def start_of_day(self, day: str | None) -> datetime | None:
        """A date filter's day, read in the display zone, as the UTC instant it starts."""
        try:
            parsed = datetime.fromisoformat(day) if day else None
        except ValueError:
            return None
        if parsed is None:
            return None
        return parsed.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=self.zone).astimezone(UTC)

    @property
    def offset(self) -> str:
        """``UTC+07:00``: what the column headings say."""
        delta = datetime.now(self.zone).utcoffset() or timedelta()
        sign = "+" if delta >= timedelta() else "-"
        minutes = abs(int(delta.total_seconds())) // 60
        return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def age(since: datetime | None, now: datetime) -> str:
    """``2 ngày 3 giờ / 2 d 3 h``: how long something has waited, to the minute."""
    if since is None:
        return "–"
    minutes = max(int((now - since).total_seconds()) // 60, 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} ngày {hours} giờ / {days} d {hours} h"
    if hours:
        return f"{hours} giờ {mins} phút / {hours} h {mins} min"
    return f"{mins} phút / {mins} min"
