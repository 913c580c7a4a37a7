"""``/health/live`` and ``/health/ready`` on a real connector; each readiness check broken for
real: the database taken away and made read-only (PostgreSQL), the identity certificate expired,
the delivery worker stopped, the outbox backlog over its limit."""

from __future__ import annotations

import psycopg
import requests

from connector.serving.runtime import build_worker
from simulators import guide
from testkit.live import start_connector
from testkit.net import new_id
from tests.ops.conftest import expired_identity
from tests.soap.test_guide_cases import DOSSIER, send
from tests.store.conftest import ADMIN_URL


def ready(url: str) -> tuple[int, dict]:
    answer = requests.get(f"{url}/health/ready", timeout=30)
    return answer.status_code, answer.json()


def test_a_fresh_connector_is_live_and_ready(tmp_path):
    live, server = start_connector(tmp_path / "data")
    try:
        assert requests.get(f"{live.url}/health/live", timeout=5).json() == {"status": "ok"}
        code, body = ready(live.url)
        assert (code, body["status"], body["failing"]) == (200, "ready", [])
        assert set(body["checks"]) == {"database", "storage", "keys", "delivery_worker", "outbox_backlog"}
        assert "writable at revision" in body["checks"]["database"]["detail"]
    finally:
        server.stop()
        live.runtime.close()


def test_a_stopped_or_read_only_database_is_not_ready(tmp_path, postgres_url):
    live, server = start_connector(tmp_path / "pg", database_url=postgres_url)
    name = postgres_url.rsplit("/", 1)[1]
    admin = psycopg.connect(ADMIN_URL, autocommit=True)
    terminate = f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    try:
        assert ready(live.url)[0] == 200
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(terminate)
        code, body = ready(live.url)
        assert (code, body["failing"]) == (503, ["database", "outbox_backlog"])  # the backlog cannot be read either
        assert body["checks"]["database"]["ok"] is False
        assert body["checks"]["keys"]["ok"] is True and body["checks"]["delivery_worker"]["ok"] is True

        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert ready(live.url)[0] == 200

        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        admin.execute(terminate)  # new sessions get the setting
        code, body = ready(live.url)
        assert (code, body["failing"]) == (503, ["database"])
        assert "not writable" in body["checks"]["database"]["detail"]
        assert "read-only" in body["checks"]["database"]["detail"]
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        admin.close()
        server.stop()
        live.runtime.close()


def test_an_expired_identity_certificate_is_not_ready(tmp_path):
    data = tmp_path / "data"
    identity = expired_identity(data / "keys", tmp_path / "expired")
    live, server = start_connector(data, **identity)
    try:
        code, body = ready(live.url)
        assert (code, body["failing"]) == (503, ["keys"])
        assert (
            "identity certificate" in body["checks"]["keys"]["detail"] and "expired" in body["checks"]["keys"]["detail"]
        )
    finally:
        server.stop()
        live.runtime.close()


def test_a_stopped_delivery_worker_is_not_ready(tmp_path):
    live, server = start_connector(tmp_path / "data")
    worker = build_worker(live.runtime).start()
    try:
        code, body = ready(live.url)
        assert code == 200 and body["checks"]["delivery_worker"]["detail"] == "running"
        worker.stop()
        code, body = ready(live.url)
        assert (code, body["failing"]) == (503, ["delivery_worker"])
        assert "not running" in body["checks"]["delivery_worker"]["detail"]
    finally:
        worker.stop()
        server.stop()
        live.runtime.close()


def test_an_outbox_backlog_over_the_limit_is_not_ready(tmp_path):
    live, server = start_connector(tmp_path / "data", outbox_backlog_limit=1)
    try:
        client = live.client()
        send(live, "INCOMING")  # one deliverDocument waits: the sample has no endpoints
        assert ready(live.url)[0] == 200
        package = live.sign(guide.send_package(guide.Dossier("Bo_Thu_Tuc-0002", "1948088", "Trần Thị B", "cbtiepnhan")))
        client.service.sendDocument(
            messageId=new_id(),
            edxmlPackage=package,
            kind="INCOMING",
            senderUsername="cbtiepnhan",
            dossier=DOSSIER | {"dossierCode": "Bo_Thu_Tuc-0002"},
        )
        code, body = ready(live.url)
        assert (code, body["failing"]) == (503, ["outbox_backlog"])
        assert body["checks"]["outbox_backlog"]["detail"] == "2 undelivered outbox items, over the limit of 1"
    finally:
        server.stop()
        live.runtime.close()
