"""Ports, waiting and identifiers: what tests and benchmarks need around a real server."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable

import requests


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(probe: Callable[[], object], timeout: float = 30.0, what: str = "") -> object:
    """``probe()``'s first truthy value, polled every 0.1 s (a refused connection counts as not
    yet); an ``AssertionError`` naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = probe()
        except (requests.ConnectionError, OSError):
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def new_id() -> str:
    """A fresh message id."""
    return str(uuid.uuid4())
