"""A real load balancer for tests: Debian's HAProxy on 127.0.0.1 (ephemeral port), in the
foreground (``-db``), in front of connector processes. The configuration is the one
docs/operations.md shows: round robin, a health check on ``/health/live`` every half second,
and a request whose connection to a server failed is sent to another one (``retries`` with
``option redispatch``); a request that reached a server is never resent by HAProxy: the client
resends it with the same message id."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

from testkit.net import free_port

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)

CONFIG = """
global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    option http-server-close

frontend soap
    bind 127.0.0.1:{port}
    default_backend connectors

backend connectors
    balance roundrobin
    option httpchk GET /health/live
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}
"""


@contextmanager
def haproxy(backends: Sequence[int], work: Path) -> Iterator[str]:
    """HAProxy balancing over the connectors on ``backends`` (ports); yields ``http://127.0.0.1:PORT``."""
    assert HAPROXY is not None, "haproxy is not installed (.ci/ensure-tools installs it from Debian)"
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    servers = "\n".join(f"    server c{n} 127.0.0.1:{p} check" for n, p in enumerate(backends, 1))
    config = work / "haproxy.cfg"
    config.write_text(CONFIG.format(port=port, servers=servers), encoding="utf-8")
    check = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    log = (work / "haproxy.log").open("wb")
    process = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{url}/health/live", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, (work / "haproxy.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "HAProxy did not answer"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
