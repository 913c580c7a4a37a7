"""``/metrics`` on a real connector: requests by operation and fault, stage latencies, signature
and authentication failures, delivery attempts, outbox depth and age, certificate expiry.
Counters are process-wide, so the tests compare before and after."""

from __future__ import annotations

import datetime as dt
import logging

from connector.errors import ErrorCode
from connector.exchange.directory import Directory, SystemEntry, SystemKind
from connector.ops.certificates import ExpiryReminder, certificates
from connector.serving.runtime import build_worker
from simulators import guide
from testkit.faults import refused_over_soap
from testkit.live import ONESTOP, start_connector
from testkit.net import free_port, new_id
from tests.ops.conftest import identity_files, scrape, value
from tests.soap.test_guide_cases import DOSSIER, send


def test_requests_stages_signature_failures_and_the_outbox(tmp_path):
    live, server = start_connector(tmp_path / "data")
    try:
        client = live.client()
        before = scrape(live.url)
        send(live, "INCOMING")
        signed = live.sign(guide.send_package())
        tampered = signed.replace(guide.DOSSIER_CODE.encode(), guide.DOSSIER_CODE[:-1].encode() + b"X")
        refused_over_soap(
            ErrorCode.SIGNATURE_INVALID,
            client.service.sendDocument,
            messageId=new_id(),
            edxmlPackage=tampered,
            kind="INCOMING",
            senderUsername="cbtiepnhan",
            dossier=DOSSIER,
        )
        after = scrape(live.url)

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert grew("connector_requests_total", operation="sendDocument", fault="none") == 1
        assert grew("connector_requests_total", operation="sendDocument", fault="Client.SignatureInvalid") == 1
        assert grew("connector_signature_failures_total", reason="DIGEST_MISMATCH") == 1
        assert grew("connector_request_seconds_count", operation="sendDocument") == 2
        for stage in ("verify", "validate", "route", "persist"):
            assert grew("connector_stage_seconds_count", operation="sendDocument", stage=stage) >= 1, stage
        # The accepted document waits for its partner: the sample directory has no endpoints.
        assert value(after, "connector_outbox_items", system_id="eoffice-stp", state="pending") == 1
        assert value(after, "connector_outbox_oldest_age_seconds", system_id="eoffice-stp") >= 0
        assert ("connector_outbox_oldest_age_seconds", (("system_id", "eoffice-stp"),)) in after
        assert value(after, "connector_outbox_in_flight", system_id="eoffice-stp") == 0
    finally:
        server.stop()
        live.runtime.close()


def test_delivery_attempts_and_authentication_failures(tmp_path):
    live, server = start_connector(tmp_path / "data")
    try:
        send(live, "INCOMING")
        nobody = f"http://127.0.0.1:{free_port()}/soap"  # a partner that is down
        live.runtime.store.import_directory(
            Directory(systems=[SystemEntry("eoffice-stp", guide.AGENCY.organ_id, SystemKind.DOCMGMT, nobody)])
        )
        before = scrape(live.url)
        assert build_worker(live.runtime).run_once() is not None
        for caller in (live.client(ONESTOP, password="not the password"), live.client(None)):
            refused_over_soap(ErrorCode.UNAUTHENTICATED, caller.service.getStatus, dossierCode=guide.DOSSIER_CODE)
        after = scrape(live.url)

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert grew("connector_delivery_attempts_total", system_id="eoffice-stp", outcome="retry") == 1
        assert grew("connector_authentication_failures_total", reason="bad-credentials") == 1
        assert grew("connector_authentication_failures_total", reason="no-credentials") == 1
    finally:
        server.stop()
        live.runtime.close()


def test_certificate_expiry_in_days_and_the_30_day_warning(tmp_path, caplog):
    data = tmp_path / "data"
    soon = identity_files(
        data / "keys", tmp_path / "soon", dt.datetime.now(dt.UTC) - dt.timedelta(days=355), dt.timedelta(days=365)
    )
    with caplog.at_level(logging.WARNING, logger="connector.ops.certificates"):
        live, server = start_connector(data, **soon)
    try:
        warnings = [r.getMessage() for r in caplog.records if r.name == "connector.ops.certificates"]
        assert len(warnings) == 1 and "identity certificate" in warnings[0] and "is expiring" in warnings[0]
        samples = scrape(live.url)
        days = {
            dict(labels)["role"]: v
            for (name, labels), v in samples.items()
            if name == "connector_certificate_expiry_days"
        }
        assert 9 < days["identity"] < 11
        assert days["trust"] > 3000  # the development CA: ten years
        assert value(samples, "connector_certificates_expiring") == 1

        # While the server runs, the warning comes back once a day (driven by scrapes and probes).
        config = live.runtime.service.config
        certs = certificates(config.identity, config.policy.trust_anchors)
        t0 = dt.datetime.now(dt.UTC)
        reminder = ExpiryReminder(warned_at=t0)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="connector.ops.certificates"):
            reminder.remind(certs, t0 + dt.timedelta(hours=23), 30)
            assert caplog.records == []
            reminder.remind(certs, t0 + dt.timedelta(days=1), 30)
            reminder.remind(certs, t0 + dt.timedelta(days=1, hours=1), 30)
        assert len(caplog.records) == 1 and "is expiring" in caplog.records[0].getMessage()
    finally:
        server.stop()
        live.runtime.close()
