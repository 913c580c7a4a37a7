"""One log line per request: client faults at INFO without a traceback, server faults at ERROR
with one, the request id in the SOAP fault detail and the X-Request-Id header; JSON lines from a
real ``server.py`` when ``log_format = "json"``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import requests
from lxml import etree

from connector.errors import ErrorCode
from connector.soap.models import TNS
from connector.soap.protocol import SOAP_ENV
from simulators import guide
from testkit.faults import refused_response
from testkit.live import start_connector
from testkit.net import free_port, wait_until
from testkit.processes import ROOT
from tests.soap.test_faults import post, send_raw


def detail(response: requests.Response) -> dict[str, str]:
    """The typed detail's members but the message: code, field, requestId."""
    fault = etree.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    typed = fault.find(f"detail/{{{TNS}}}ConnectorFault")
    return {etree.QName(child).localname: child.text for child in typed if etree.QName(child).localname != "message"}


def request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "connector.request"]


def test_a_client_fault_is_one_info_line_without_traceback(tmp_path, caplog):
    live, server = start_connector(tmp_path / "data")
    try:
        package = live.sign(guide.send_package())
        caplog.clear()  # only what the request itself logs
        with caplog.at_level(logging.DEBUG):
            answer = send_raw(live, package, senderUsername="nobody", messageId="m-unknown-user")
        request_id = answer.headers["X-Request-Id"]
        assert detail(answer) == {
            "code": "Client.UnknownAccount",
            "field": "sendDocument/senderUsername",
            "requestId": request_id,
        }
        (line,) = request_lines(caplog)
        assert line.levelno == logging.INFO and line.exc_info is None
        assert line.request == {  # type: ignore[attr-defined]
            "request_id": request_id,
            "operation": "sendDocument",
            "message_id": "m-unknown-user",
            "caller": "127.0.0.1",
            "fault": "Client.UnknownAccount",
            "duration_ms": line.request["duration_ms"],  # type: ignore[attr-defined]
        }
        assert f"request request_id={request_id} operation=sendDocument message_id=m-unknown-user" in line.getMessage()
        assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []  # nothing else, spyne included
    finally:
        server.stop()
        live.runtime.close()


def test_a_request_refused_before_dispatch_is_logged_with_its_soapaction(tmp_path, caplog):
    live, server = start_connector(tmp_path / "data")
    try:
        caplog.clear()  # only what the request itself logs
        with caplog.at_level(logging.DEBUG):
            answer = post(live, b"<not-soap/>")
        (line,) = request_lines(caplog)
        assert line.levelno == logging.INFO and line.exc_info is None
        assert line.request["operation"] == "sendDocument" and line.request["fault"].startswith("Client.")  # type: ignore[attr-defined]
        assert detail(answer)["requestId"] == answer.headers["X-Request-Id"]
        assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    finally:
        server.stop()
        live.runtime.close()


def test_a_server_fault_is_one_error_line_with_its_traceback(tmp_path, caplog, monkeypatch):
    live, server = start_connector(tmp_path / "data")

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(live.runtime.service, "get_status", broken)
    envelope = (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:c="urn:vn:lienthong:connector:1">'
        f"<s:Header>{live.security_header()}</s:Header>"
        "<s:Body><c:getStatus><c:messageId>m-1</c:messageId></c:getStatus></s:Body></s:Envelope>"
    )
    try:
        caplog.clear()  # only what the request itself logs
        with caplog.at_level(logging.DEBUG):
            answer = requests.post(
                f"{live.url}/soap",
                data=envelope.encode(),
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"getStatus"'},
                timeout=30,
            )
        assert "disk on fire" not in refused_response(answer, ErrorCode.INTERNAL)
        assert b"disk on fire" not in answer.content
        assert detail(answer) == {"code": "Server.Internal", "requestId": answer.headers["X-Request-Id"]}
        (line,) = request_lines(caplog)
        assert line.levelno == logging.ERROR and line.exc_info is not None
        assert "disk on fire" in str(line.exc_info[1])
        errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert errors == [line]  # one line, one traceback
    finally:
        server.stop()
        live.runtime.close()


def test_json_lines_from_the_real_server(tmp_path):
    port = free_port()
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{tmp_path}"\nport = {port}\nlog_format = "json"\n', encoding="utf-8")
    stderr = (tmp_path / "server.err").open("wb")
    server = subprocess.Popen(
        [sys.executable, "server.py", "--config", str(config)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{url}/health/live", timeout=1).ok, what="the server")
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"updateStatus"'}
        answer = requests.post(f"{url}/soap", data=b"<x/>", timeout=30, headers=headers)
        assert answer.status_code == 500

        def logged() -> list[dict]:
            lines = (tmp_path / "server.err").read_text(encoding="utf-8").splitlines()
            return [json.loads(line) for line in lines]  # every line is one JSON object

        entries = wait_until(lambda: [e for e in logged() if e["logger"] == "connector.request"], what="the line")
        (entry,) = entries
        assert entry["level"] == "INFO" and "traceback" not in entry
        assert entry["request_id"] == answer.headers["X-Request-Id"]
        assert (entry["operation"], entry["message_id"], entry["caller"]) == ("updateStatus", "-", "127.0.0.1")
        assert entry["fault"].startswith("Client.") and entry["duration_ms"] >= 0
    finally:
        server.terminate()
        assert server.wait(timeout=15) == 0  # SIGTERM is a clean stop
        stderr.close()
