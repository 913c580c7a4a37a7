"""Closed-loop HTTP load from this process against a server in another one, and that server
process observed from outside (CPU from /proc/PID/stat, peak RSS from VmHWM).

The client is deliberately thin: requests are complete, pre-built HTTP/1.1 byte strings
(``envelopes.Request``), written to raw keep-alive sockets; a response is read as far as its
Content-Length and kept only for its status and fault code. Each connection sends its next
request as soon as the previous answer is in (closed loop), so the server is never offered more
than ``connections`` requests at once.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common import cpu_seconds, memory_kib, process_tree, reset_peak_of, wait_for_http
from envelopes import Request

# The documented code in the connector's typed fault detail; else SOAP's own faultcode (bare Spyne).
_DETAIL_CODE = re.compile(rb"<(?:\w+:)?code>([^<]+)</")
_FAULT_CODE = re.compile(rb"<faultcode>(?:\w+:)?([^<]+)</faultcode>")


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int, timeout: float = 600) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, data: bytes) -> tuple[int, bytes]:
        """Send one request; the status code and body of its answer."""
        self.sock.sendall(data)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:"))
        while len(self.buffer) < length:
            self._read()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, body

    def _read(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def fault_code(status: int, body: bytes) -> str | None:
    if status == 200:
        return None
    found = _DETAIL_CODE.search(body) or _FAULT_CODE.search(body)
    return found.group(1).decode() if found else f"HTTP {status}"


@dataclass(frozen=True)
class Answer:
    index: int  # position in the request list
    operation: str
    seconds: float
    status: int
    fault: str | None
    body: bytes = field(repr=False, default=b"")


@dataclass
class LoadResult:
    answers: list[Answer]
    seconds: float  # from the first request sent to the last answer received
    exhausted: bool  # the requests ran out before the duration was over

    @property
    def ok(self) -> list[Answer]:
        return [a for a in self.answers if a.fault is None]

    @property
    def rate(self) -> float:
        return len(self.answers) / self.seconds if self.seconds else 0.0

    def faults(self) -> Counter[str]:
        return Counter(a.fault for a in self.answers if a.fault)

    def latencies(self, operation: str | None = None) -> list[float]:
        return [a.seconds for a in self.answers if operation is None or a.operation == operation]

    def percentile_ms(self, q: int, operation: str | None = None) -> float:
        values = self.latencies(operation)
        if len(values) < 2:
            return values[0] * 1000 if values else float("nan")
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000

    def mean_s(self, operation: str | None = None) -> float:
        values = self.latencies(operation)
        return statistics.fmean(values) if values else float("nan")


def run_load(
    host: str,
    port: int,
    requests: Sequence[Request],
    connections: int,
    duration: float,
    keep_bodies: bool = False,
) -> LoadResult:
    """Send ``requests`` in order over ``connections`` keep-alive connections until ``duration``
    seconds have passed or the requests run out."""
    lock = threading.Lock()
    position = 0
    answers: list[Answer] = []
    errors: list[BaseException] = []
    opened = [Connection(host, port) for _ in range(connections)]
    start = time.perf_counter()
    end = start + duration
    exhausted = False

    def take() -> int | None:
        nonlocal position, exhausted
        with lock:
            if time.perf_counter() >= end:
                return None
            if position >= len(requests):
                exhausted = True
                return None
            index = position
            position += 1
            return index

    def loop(connection: Connection) -> None:
        try:
            while (index := take()) is not None:
                request = requests[index]
                sent = time.perf_counter()
                status, body = connection.exchange(request.data)
                seconds = time.perf_counter() - sent
                kept = body if keep_bodies or status != 200 else b""
                with lock:
                    answers.append(Answer(index, request.operation, seconds, status, fault_code(status, body), kept))
        except BaseException as exc:  # reported after the others finished
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in opened]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for c in opened:
        c.close()
    if errors:
        raise RuntimeError(f"a client connection failed: {errors[0]!r}") from errors[0]
    return LoadResult(answers, elapsed, exhausted)


def post_all(host: str, port: int, requests: Sequence[Request], connections: int = 4) -> LoadResult:
    """Every request once (setup steps, warm-ups): as fast as the server goes."""
    return run_load(host, port, requests, connections, duration=math.inf, keep_bodies=True)


class ServerProcess:
    """A server started as ``python ARGV`` in its own process group, logging to ``log``; it is
    measured together with any processes it forks (``--workers``)."""

    def __init__(self, argv: Sequence[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, *argv],
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def wait_ready(self, url: str, timeout: float = 90) -> None:
        try:
            wait_for_http(url, timeout, alive=lambda: self.process.poll() is None)
        except RuntimeError:
            raise RuntimeError(f"the server did not start; its log:\n{self.tail()}") from None
        if self.process.poll() is not None:
            raise RuntimeError(f"the server exited ({self.process.returncode}); its log:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError):  # ended meanwhile
                total += cpu_seconds(pid)
        return total

    def reset_peak(self) -> int:
        """Reset every process's peak-RSS mark; their RSS now (KiB) in all."""
        for pid in self.pids():
            reset_peak_of(pid)
        return self.memory("VmRSS")

    def memory(self, key: str = "VmHWM") -> int:
        """KiB in all processes: VmHWM (peak since the reset) or VmRSS."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, KeyError):
                total += memory_kib(pid)[key]
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the whole group: workers too
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
