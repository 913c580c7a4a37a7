"""Issue 22, items 2 and 5: a PostgreSQL outage under a real ``server.py`` – a private
PostgreSQL that the test stops and starts – is logged once when it starts, summarised while it
lasts and logged once when it ends; the poll backs off; readiness and a metric say the rest; and
callers get a stable sentence with the request id, never the database's internals."""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import pytest
import zeep
from lxml import etree

from tests.badday.fake_partner import Answer, FakePartner, accepted
from tests.badday.processes import ConnectorProcess, PrivatePostgres, new_id, wait_until

OUTAGE_SECONDS = 12


@pytest.fixture
def postgres():
    # Not under tmp_path: pytest's directory is private to root, and PostgreSQL runs as postgres.
    pg = PrivatePostgres(Path(tempfile.mkdtemp(prefix="badday-pg-"))).init()
    yield pg
    pg.destroy()


def metric(connector: ConnectorProcess, name: str) -> float | None:
    match = re.search(rf"^{name} (\S+)$", connector.get("/metrics", timeout=5).text, re.MULTILINE)
    return float(match.group(1)) if match else None


def test_a_database_outage_is_logged_once_and_callers_get_a_stable_sentence(tmp_path, postgres):
    with FakePartner(Answer(body=accepted("REG-1"))) as partner:
        connector = ConnectorProcess(
            tmp_path / "connector",
            config_lines=f'database_url = "{postgres.url}"\nauto_migrate = "always"',
            # A fast poll: the old worker wrote a traceback per thread per poll.
            delivery="poll_interval = 0.05\noutage_max_backoff = 3.0\noutage_summary_interval = 5.0\n",
            docmgmt_endpoint=partner.url,
        ).start()
        try:
            connector.credentials()
            client = connector.client()
            assert connector.get("/health/ready").status_code == 200
            before = len(connector.log_lines())

            postgres.stop()
            began = time.monotonic()
            wait_until(lambda: connector.get("/health/ready", timeout=10).status_code == 503, what="not ready")
            ready = connector.get("/health/ready", timeout=10).json()
            assert "database" in ready["failing"]
            assert "127.0.0.1" in ready["checks"]["database"]["detail"]  # the operator sees the driver's words

            with pytest.raises(zeep.exceptions.Fault) as caught:
                client.service.getStatus(messageId=new_id())
            fault = caught.value
            assert fault.message == (
                "the exchange store is unavailable; nothing was stored. Retry later with the same message id."
            )
            text = etree.tostring(fault.detail).decode()
            assert "Server.StoreUnavailable" in text
            request_id = re.search(r"requestId>([0-9a-f]{32})<", text).group(1)
            for internal in ("127.0.0.1", str(postgres.port), "connection", "psycopg"):
                assert internal not in text
            wait_until(lambda: metric(connector, "connector_store_unavailable") == 1.0, what="the outage metric")

            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - began)))
            postgres.start()
            wait_until(
                lambda: connector.get("/health/ready", timeout=10).status_code == 200, timeout=30, what="ready again"
            )
            wait_until(
                lambda: any("store available again" in line for line in connector.log_lines(before)),
                timeout=15,
                what="the outage's end logged",
            )
            assert metric(connector, "connector_store_unavailable") == 0.0
            assert (metric(connector, "connector_store_failed_polls_total") or 0) > 0

            lines = connector.log_lines(before)
            assert sum("store unavailable:" in line for line in lines) == 1, lines
            assert sum("store available again" in line for line in lines) == 1, lines
            assert 1 <= sum("store still unavailable" in line for line in lines) <= 4, lines
            assert not any("Traceback" in line for line in lines), lines[:40]
            assert sum("shared failure counts not read" in line for line in lines) <= 1, lines
            # The request's one line carries the detail the caller did not get, under its id.
            [request_line] = [line for line in lines if request_id in line]
            assert "fault=Server.StoreUnavailable" in request_line and "detail=" in request_line
            # The whole outage: a handful of lines, not a traceback per thread per poll.
            assert len(lines) < 30, lines

            # Everything works again: a document sent now is delivered.
            connector.send(1)
            wait_until(lambda: partner.calls >= 1, timeout=20, what="the delivery after the outage")
        finally:
            connector.stop()
