"""Several server processes on one port (``server.py --workers N``), supervised by their parent.

Python runs one thread of Python code at a time, so one process uses one core for parsing,
signature checks and signing; N processes use N. The parent:

- binds the listening socket once (a taken port fails at once, as with one process) and passes
  it to each child; the children accept on it in turn, so one address serves them all;
- prepares what must happen once before any child starts: schema migrations, the development
  keys and the directory's first import (``first_run``);
- gives every child the same ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory of its own when none
  is configured), so ``/metrics`` on whichever child answers adds up all of them;
- restarts a child that dies (waiting longer each time one dies young, so a child that cannot
  start does not spin), and on SIGTERM or SIGINT stops them all: SIGTERM to each, SIGKILL to one
  that has not finished within ``stop_timeout``.

A child whose parent dies, even of SIGKILL, stops too (``follow_parent``): orphans would go on
holding the port. A child killed mid-request loses only that request: what it had committed is in the database, what
it had not is rolled back, and its leased outbox items return when their lease ends.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None
Command = Callable[[int, int], Sequence[str]]
"""The command line of child ``slot`` serving the inherited socket ``fd``."""


def follow_parent() -> None:
    """In a child: receive SIGTERM when the parent dies, even of SIGKILL (Linux), rather than go on
    serving the port unsupervised, where a restarted parent could not bind it again."""
    if _LIBC is None:
        return
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before the call: nobody will signal
        os.kill(os.getpid(), signal.SIGTERM)


def listening_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A bound, listening, inheritable TCP socket (IPv4 or IPv6 by ``host``)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


@dataclass
class Child:
    slot: int
    process: subprocess.Popen[bytes]
    started: float
    failures: int = 0  # deaths in a row soon after starting


@dataclass
class Supervisor:
    command: Command
    workers: int
    sock: socket.socket
    stop_timeout: float = 45.0
    """Longer than a child's own clean stop (its delivery worker waits out a partner call)."""
    young: float = 10.0
    """A child that dies sooner than this after starting counts as failing to start."""
    children: dict[int, Child] = field(default_factory=dict)
    _stopping: bool = False
    _metrics_dir: str | None = None

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if not env.get(METRICS_ENV):
            self._metrics_dir = tempfile.mkdtemp(prefix="connector-metrics-")
            env[METRICS_ENV] = self._metrics_dir
        return env

    def run(self) -> int:
        """Start the children and keep them running until SIGTERM or SIGINT."""
        env = self.environment()
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in range(self.workers):
                self._spawn(slot, env, failures=0)
            while not self._stopping:
                self._reap(env)
                time.sleep(0.2)
        finally:
            self.sock.close()  # the children's copies close on their SIGTERM: new connections are refused
            self._stop_children()
            for s, handler in previous.items():
                signal.signal(s, handler)
            if self._metrics_dir is not None:
                shutil.rmtree(self._metrics_dir, ignore_errors=True)
        return 0

    def _spawn(self, slot: int, env: dict[str, str], failures: int) -> None:
        fd = self.sock.fileno()
        process = subprocess.Popen(list(self.command(fd, slot)), pass_fds=(fd,), env=env)
        self.children[slot] = Child(slot, process, time.monotonic(), failures)
        log.info("worker %s started (pid %s)", slot, process.pid)

    def _reap(self, env: dict[str, str]) -> None:
        for slot, child in list(self.children.items()):
            code = child.process.poll()
            if code is None:
                continue
            failures = child.failures + 1 if time.monotonic() - child.started < self.young else 0
            delay = min(2.0 ** (failures - 1), 30.0) if failures else 0.0
            log.warning(
                "worker %s (pid %s) exited with %s; restarting it%s",
                slot,
                child.process.pid,
                _exit_reason(code),
                f" in {delay:g}s" if delay else "",
            )
            del self.children[slot]
            if delay and self._sleep(delay):
                return
            self._spawn(slot, env, failures)

    def _sleep(self, seconds: float) -> bool:
        """Wait, unless asked to stop; True when asked to stop."""
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        return self._stopping

    def _stop(self, signum: int, frame: object) -> None:
        self._stopping = True

    def _stop_children(self) -> None:
        for child in self.children.values():
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in self.children.values():
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("worker %s (pid %s) did not stop in time: killed", child.slot, child.process.pid)
                child.process.kill()
                child.process.wait()
        self.children.clear()


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"
