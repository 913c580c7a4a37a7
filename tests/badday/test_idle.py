"""Issue 22, item 7: an idle connector makes few claim transactions, and new work is delivered
at once anyway – woken in the process when the service enqueues, and through PostgreSQL's
NOTIFY when another process (here a separate ``python -m connector worker``) enqueued it."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.badday.fake_partner import Answer, FakePartner, accepted
from tests.badday.processes import ROOT, ConnectorProcess, PrivatePostgres, wait_until

SLOW_POLL = "poll_interval = 30.0\n"  # nothing but a wake-up can deliver within the test's bounds


def claims(connector: ConnectorProcess) -> float:
    text = connector.get("/metrics", timeout=5).text
    match = re.search(r"^connector_outbox_claims_total (\S+)$", text, re.MULTILINE)
    assert match, "the claims metric"
    return float(match.group(1))


def test_an_idle_server_claims_rarely_and_an_enqueue_wakes_delivery_at_once(tmp_path):
    with FakePartner(Answer(body=accepted("REG-1"))) as partner:
        connector = ConnectorProcess(tmp_path, docmgmt_endpoint=partner.url).start()  # the default poll
        try:
            connector.credentials()
            wait_until(lambda: claims(connector) > 0, what="the lanes polling")
            first = claims(connector)
            time.sleep(10)
            idle = claims(connector) - first
            assert idle <= 4 * 10 / 5 + 4, idle  # 4 threads looking every 5 s (the old worker: ~80 every second)
        finally:
            connector.stop()
        connector.delivery = SLOW_POLL
        connector.write_config()
        connector.start()
        try:
            started = time.monotonic()
            connector.send(1)
            wait_until(lambda: partner.calls >= 1, timeout=10, what="the delivery woken by the enqueue")
            assert time.monotonic() - started < 10
        finally:
            connector.stop()


@pytest.fixture
def postgres():
    pg = PrivatePostgres(Path(tempfile.mkdtemp(prefix="badday-pg-"))).init()
    yield pg
    pg.destroy()


def test_a_worker_process_is_woken_by_notify_from_the_server(tmp_path, postgres):
    with FakePartner(Answer(body=accepted("REG-1"))) as partner:
        connector = ConnectorProcess(
            tmp_path,
            config_lines=f'database_url = "{postgres.url}"\nauto_migrate = "always"',
            delivery="enabled = false\n" + SLOW_POLL,
            docmgmt_endpoint=partner.url,
        ).start()
        worker = subprocess.Popen(
            [sys.executable, "-m", "connector", "worker", "--config", str(connector.config)],
            cwd=ROOT,
            stdout=(tmp_path / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            connector.credentials()
            wait_until(lambda: "delivering to eoffice-stp" in (tmp_path / "worker.log").read_text(), what="the worker")
            time.sleep(1)  # its listener is connected
            started = time.monotonic()
            connector.send(2)
            wait_until(lambda: partner.calls >= 2, timeout=10, what="deliveries woken by NOTIFY")
            assert time.monotonic() - started < 10
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            connector.stop()
