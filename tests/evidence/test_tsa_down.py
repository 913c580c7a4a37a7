"""When the time-stamping authority is down (docs/evidence.md, "When the TSA is down"): an
operator's `evidence sign` fails and says why; the server's periodic round keeps the head
unstamped rather than lose it, and stamps it once the TSA answers again."""

from __future__ import annotations

import socket
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

from connector.evidence.notary import NotarySettings
from connector.serving.app import ConnectorApp
from tests.evidence.conftest import make_runtime, play_guide
from tests.evidence.test_chain import evidence_cli
from tests.ops.conftest import scrape, value


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def unstamped_gauge(runtime) -> float:  # noqa: ANN001
    """``connector_evidence_unstamped_heads`` as Prometheus scrapes it from the connector's app."""
    server = make_server("127.0.0.1", 0, ConnectorApp(runtime), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return value(scrape(f"http://127.0.0.1:{server.server_port}"), "connector_evidence_unstamped_heads")
    finally:
        server.shutdown()
        server.server_close()


def test_heads_are_kept_unstamped_while_the_tsa_is_down_and_stamped_after(tsa, tmp_path):
    down = f"http://127.0.0.1:{closed_port()}/tsa"
    config = tmp_path / "connector.toml"
    config.write_text(f'tsa_url = "{down}"\ntsa_timeout = 2.0\ntsa_trust = ["{tsa.ca_path}"]\n')
    runtime = make_runtime(tmp_path / "data", tsa_url=down, tsa_timeout=2.0, tsa_trust=(tsa.ca_path,))
    play_guide(runtime)

    result = evidence_cli(tmp_path / "data", "sign", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: time-stamping authority {down}: "), result.stderr
    assert runtime.store.evidence.signed_heads() == []

    # The periodic round, as the server runs it: the head is signed and kept without a stamp.
    stop = runtime.notary.start(0.05)
    wait_for(lambda: runtime.store.evidence.signed_heads(), "a signed head")
    stop.set()
    [head] = runtime.store.evidence.signed_heads()
    assert head.timestamp_response is None and head.tsa_url == down
    result = evidence_cli(tmp_path / "data", "verify", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 signed heads wait for a time-stamp (the TSA was down when they were signed)" in result.stdout
    assert unstamped_gauge(runtime) == 1

    # The TSA answers again: the next round stamps the head it kept.
    runtime.notary.settings = NotarySettings(tsa.url, 5.0)
    stop = runtime.notary.start(0.05)
    wait_for(lambda: runtime.store.evidence.signed_heads()[0].timestamp_response, "the time-stamp")
    assert len(runtime.store.evidence.signed_heads()) == 1  # the same head, now stamped
    assert unstamped_gauge(runtime) == 0
    stop.set()
    runtime.close()
    result = evidence_cli(tmp_path / "data", "verify", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wait for a time-stamp" not in result.stdout and "not checked" not in result.stdout
