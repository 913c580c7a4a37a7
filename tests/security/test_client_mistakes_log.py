"""A client's mistake is one INFO line in the log, never an ERROR with a traceback (issue 21,
item 8): spyne logged a non-base64 ``edxmlPackage`` from an authenticated client at ERROR with
a full traceback while the client got the right fault."""

from __future__ import annotations

import logging

import pytest

from connector.errors import ErrorCode
from testkit.faults import refused_envelope
from testkit.rawsoap import envelope, send_document

MISTAKES = {
    "character outside the alphabet": "PGE+!!!!",
    "data after the padding": "PGE+PC9hPg==PGE+",
    "wrong length": "PGE+P",
}


@pytest.mark.parametrize("package", list(MISTAKES.values()), ids=list(MISTAKES))
def test_a_non_base64_package_is_one_info_line(live, caplog, package):  # noqa: F811
    with caplog.at_level(logging.INFO):
        refused_envelope(live, envelope(send_document(package)), ErrorCode.SCHEMA_INVALID)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == [], [(r.name, r.getMessage()) for r in loud]
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text
    lines = [r for r in caplog.records if r.name == "connector.request"]
    assert len(lines) == 1 and "fault=Client.SchemaInvalid" in lines[0].getMessage()
    assert lines[0].levelno == logging.INFO


def test_a_server_side_exception_still_keeps_its_traceback():
    """The filter drops client faults only: anything else (a bug) is logged as it was."""
    from connector.ops.logs import _DROP_CLIENT_TRACEBACKS

    class Fault(Exception):
        def __init__(self, faultcode: str) -> None:
            self.faultcode = faultcode

    def record(error: BaseException | None) -> logging.LogRecord:
        info = (type(error), error, None) if error else None
        return logging.LogRecord("spyne.server._base", logging.ERROR, __file__, 1, "x", None, info)

    assert not _DROP_CLIENT_TRACEBACKS.filter(record(Fault("soap11env:Client")))
    assert _DROP_CLIENT_TRACEBACKS.filter(record(Fault("soap11env:Server")))
    assert _DROP_CLIENT_TRACEBACKS.filter(record(ValueError("a bug")))
    assert _DROP_CLIENT_TRACEBACKS.filter(record(None))
