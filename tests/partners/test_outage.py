"""Delivery through a real outage of a partner: the live simulators, the real worker and the
zeep clients; only time is moved, by the worker's injected clock, on a shortened schedule.
Also: pausing and resuming a partner's queue from the operator's CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connector.cli.main import main
from connector.config import ConfigError, DeliverySettings, PartnerPolicy, load_settings
from connector.store import BreakerState
from simulators import start_in_background
from testkit.clock import StepClock
from testkit.net import free_port
from tests.partners.test_delivery_failures import document_item, drain, point_docmgmt_at, worker

ROOT = Path(__file__).resolve().parents[2]
SHORT = {
    "backoff_base": 1.0,
    "backoff_max": 20.0,
    "retry_horizon": 900.0,
    "breaker_threshold": 3,
    "probe_interval": 30.0,
}


def cli(stack, *args: str) -> subprocess.CompletedProcess[str]:
    data_dir = str(stack.connector.runtime.settings.data_dir)
    return subprocess.run(
        [sys.executable, "-m", "connector", *args, "--data-dir", data_dir],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_five_minute_outage_delivers_everything_once_and_dead_letters_nothing(stack, partner_clients):
    port = free_port()
    point_docmgmt_at(stack, f"http://127.0.0.1:{port}/soap")  # the document-management system is down
    store = stack.connector.runtime.store
    sent = [stack.send("INCOMING", n) for n in range(1, 7)]
    clock = StepClock()
    w = worker(stack, partner_clients, clock, **SHORT)

    for _ in range(60):  # five minutes, looked at every 5 s
        drain(w)
        clock.advance(5)
    queue = store.partner_queue("eoffice-stp")
    assert (queue.breaker, queue.breaker_openings) == (BreakerState.OPEN, 1)
    items = [i for i in store.outbox_items(system_id="eoffice-stp")]
    assert {i.state for i in items} == {"pending"}
    # The breaker stopped the calls: 3 failures opened it, then one probe per 30 s – not every item every few seconds.
    assert sum(i.attempts for i in items) <= 3 + 300 // 30 + 1
    for s in sent:
        notes = [e.note or "" for e in store.timeline(s.message_id)]
        assert any(n.startswith("waiting for partner eoffice-stp since ") for n in notes), notes

    server = start_in_background(stack.docmgmt, port=port)  # the partner is back
    try:
        clock.advance(30)  # the next probe succeeds, the breaker closes, the whole queue is due
        drain(w)
        clock.advance(60)
        drain(w)
    finally:
        server.stop()
    assert store.partner_queue("eoffice-stp").breaker is BreakerState.CLOSED
    assert w.transitions == {("eoffice-stp", BreakerState.OPEN): 1, ("eoffice-stp", BreakerState.CLOSED): 1}
    assert not store.outbox_items(state="dead")
    assert all(i.state == "delivered" for i in store.outbox_items(system_id="eoffice-stp"))
    registered = sorted(row.abstract for row in stack.docmgmt.registration_queue())
    assert registered == sorted(f"Bo_Thu_Tuc_Cap_Huyen-221126-{n:04d}" for n in range(1, 7))  # each exactly once
    for item in store.outbox_items(system_id="eoffice-stp"):
        assert [a["outcome"] for a in store.attempts(item.item_id)].count("delivered") == 1


def test_past_the_horizon_a_failed_attempt_dead_letters(stack, partner_clients):
    point_docmgmt_at(stack, f"http://127.0.0.1:{free_port()}/soap")
    stack.send("INCOMING")
    clock = StepClock()
    w = worker(stack, partner_clients, clock, **SHORT | {"retry_horizon": 120.0})
    for _ in range(30):
        drain(w)
        clock.advance(10)
    item = document_item(stack)
    assert item.state == "dead" and "gave up after" in (
        stack.connector.runtime.store.timeline(item.exchange_id)[-1].note or ""
    )


def test_pause_and_resume_a_partner_from_the_cli(stack, partner_clients, capsys):
    paused = cli(stack, "outbox", "pause", "eoffice-stp", "--reason", "bảo trì 22:00-02:00")
    assert paused.returncode == 0 and "paused" in paused.stdout, paused.stderr
    stack.send("INCOMING")
    clock = StepClock()
    w = worker(stack, partner_clients, clock)
    assert w.run_once() is None  # due, but the queue is paused
    stats = json.loads(cli(stack, "outbox", "stats", "--json").stdout)
    [pending] = [s for s in stats["stats"] if s["system_id"] == "eoffice-stp" and s["state"] == "pending"]
    assert (pending["count"], pending["paused"], pending["in_flight"]) == (1, True, 0)

    data_dir = ["--data-dir", str(stack.connector.runtime.settings.data_dir)]  # the same CLI, in-process: quicker
    assert main(["outbox", "stats", *data_dir]) == 0
    assert "eoffice-stp: PAUSED" in capsys.readouterr().out
    assert main(["outbox", "pause", "eoffice-stp", *data_dir]) == 0
    assert "was already paused" in capsys.readouterr().out
    assert main(["outbox", "pause", "no-such-system", *data_dir]) == 1
    assert "no system 'no-such-system'" in capsys.readouterr().err

    resumed = cli(stack, "outbox", "resume", "eoffice-stp")
    assert resumed.returncode == 0 and "resumed" in resumed.stdout
    drain(w)
    assert document_item(stack).state == "delivered"
    assert len(stack.docmgmt.registration_queue()) == 1


def test_a_partner_policy_overrides_the_defaults(tmp_path):
    config = tmp_path / "connector.toml"
    config.write_text(
        "[delivery]\nretry_horizon = 259200\n[delivery.partners.eoffice-stp]\nconcurrency = 2\nbackoff_max = 60\n"
    )
    delivery = load_settings(config, environ={}).delivery
    assert delivery.policy("eoffice-stp") == PartnerPolicy(concurrency=2, backoff_max=60.0, retry_horizon=259200.0)
    assert delivery.policy("igate-hungyen") == PartnerPolicy(retry_horizon=259200.0)
    assert DeliverySettings().retry_horizon >= 48 * 3600
    config.write_text("[delivery.partners.eoffice-stp]\nmax_attempts = 3\n")
    with pytest.raises(ConfigError, match=r"delivery\.partners\.eoffice-stp\..*max_attempts"):
        load_settings(config, environ={})
    config.write_text("[delivery]\nconcurrency = 0\n")
    with pytest.raises(ConfigError, match="concurrency"):
        load_settings(config, environ={})
