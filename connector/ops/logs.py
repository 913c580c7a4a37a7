"""Logging: one line per request, as text or JSON lines.

Every SOAP request ends in exactly one line from the ``connector.request`` logger with the request
id, operation, message id, caller, fault code and duration. Answered requests and client faults
are INFO without a traceback (a client's mistake is not the operator's problem); server faults are
ERROR with the traceback. Spyne's own fault logging (an ERROR and a traceback per client fault) is
switched off, since this line replaces it. ``log_format = "json"`` writes each record as one JSON
object per line, with the request fields as keys.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from connector.exchange.pipeline import StageTimings

REQUEST_LOGGER = "connector.request"
ENVIRON_KEY = "connector.request"  # the RequestContext in the WSGI environ
# The request fields, in the order a text line shows them.
FIELDS = ("request_id", "operation", "message_id", "caller", "fault", "duration_ms")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


@dataclass
class RequestContext:
    """What one request did, filled in as it goes: by the HTTP layer (id, caller, duration) and the
    SOAP service (operation, message id, fault, stage timings)."""

    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    caller: str = "-"  # the client address; an authenticated identity once there is one
    operation: str | None = None
    message_id: str | None = None
    fault: str | None = None
    exc_info: ExcInfo | None = None
    detail: str | None = None
    """What the operator needs and the caller must not see (e.g. the database driver's error)."""
    timings: StageTimings = field(default_factory=StageTimings)
    started: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def server_fault(self) -> bool:
        return self.fault is not None and not self.fault.startswith("Client") and self.fault != "MustUnderstand"

    def fields(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "operation": self.operation or "-",
            "message_id": self.message_id or "-",
            "caller": self.caller,
            "fault": self.fault or "-",
            "duration_ms": round(self.seconds * 1000, 1),
        }


def log_request(request: RequestContext) -> None:
    fields = request.fields()
    text = " ".join(f"{name}={fields[name]}" for name in FIELDS)
    if request.detail:
        fields["detail"] = request.detail
        text += f" detail={request.detail}"
    logger = logging.getLogger(REQUEST_LOGGER)
    if request.server_fault:
        logger.error("request %s", text, exc_info=request.exc_info, extra={"request": fields})
    else:
        logger.info("request %s", text, extra={"request": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request fields when the record
    is a request line, and the traceback as one string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= getattr(record, "request", {})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """The process's logging: stderr, text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic says at INFO which plugins it loaded and which dialect it found, on every start and
    # every /health/ready revision check: noise. Migrations that run are logged by connector.store.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    silence_spyne_fault_logging()


class _DropFaultRecords(logging.Filter):
    """Spyne's WSGI layer logs a request it could not read as a bare ERROR (no traceback): that is a
    client fault, which the request line reports. Real exceptions (with a traceback) pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is not None


_DROP_FAULTS = _DropFaultRecords()


class _DropClientFaultTracebacks(logging.Filter):
    """Spyne's server base logs a fault raised while it reads the request (``logger.exception``:
    ERROR with a traceback) - a client's mistake such as a non-base64 ``edxmlPackage``, which the
    request line already reports at INFO with its code. Client faults are dropped; a server fault
    or any other exception passes, traceback and all. (A spyne ``Fault`` is known by its
    ``faultcode``: this module does not import spyne.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        code = str(getattr(error, "faultcode", "Server"))
        return code.split(":")[-1].startswith("Server")


_DROP_CLIENT_TRACEBACKS = _DropClientFaultTracebacks()


def silence_spyne_fault_logging() -> None:
    # spyne.application logs every fault raised by a service method, client faults at ERROR with a
    # traceback; the connector's service maps every exception to a fault itself.
    logging.getLogger("spyne.application").setLevel(logging.CRITICAL + 1)
    wsgi = logging.getLogger("spyne.server.wsgi")
    if _DROP_FAULTS not in wsgi.filters:
        wsgi.addFilter(_DROP_FAULTS)
    base = logging.getLogger("spyne.server._base")
    if _DROP_CLIENT_TRACEBACKS not in base.filters:
        base.addFilter(_DROP_CLIENT_TRACEBACKS)
