"""The HTTP server under the SOAP face: waitress, set up to hold under hostile clients.

- **Slow and half-open connections.** waitress reads requests in its event loop and hands only
  complete ones to worker threads, so a client that sends half a request holds a socket, not a
  thread. What it does bound is the number of sockets (``connection_limit``, default 100: one
  hundred such clients stall every newcomer) and how long an idle one is kept
  (``channel_timeout``, default 120 s). Both come from ``Settings``; ``poll()`` replaces
  ``select()``, which cannot watch more than 1024 sockets.
- **The size cap before the body is read.** waitress refuses a ``Content-Length`` above the cap
  as soon as the headers are in, and stops a chunked body the moment it passes the cap; the
  connection is then closed without reading the rest. waitress would answer with a plain-text
  413; ``SoapChannel`` answers with the documented ``Client.TooLarge`` SOAP fault instead.
- **The memory budget before the body is read.** With ``admission`` (the application's
  ``LargeRequestGate``), a large request that arrives while every slot is taken gets
  ``Server.Busy`` from its headers, the same way.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.receiver import ChunkedReceiver
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import Error, RequestEntityTooLarge

from connector.config import Settings
from connector.errors import ErrorCode
from connector.serving.admission import LargeRequestGate
from connector.serving.connections import AddressCounts, ConnectionPolicy, GuardedServer
from connector.soap.faults import SoapVersion, fault_envelope

_DRAIN_BYTES = 16 * 1024 * 1024
log = logging.getLogger(__name__)


class ServerBusyError(Error):
    """The memory budget refused a request from its headers (answered by ``SoapRefusalTask``)."""

    code = 500
    reason = "Internal Server Error"


class AdmittingParser(HTTPRequestParser):
    """waitress's request parser, which also asks the memory budget once the headers are in."""

    def __init__(self, adj: Any, admission: LargeRequestGate | None) -> None:
        super().__init__(adj)
        self.admission = admission

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        chunked = self.body_rcv
        if not self.completed and isinstance(chunked, ChunkedReceiver):
            # A chunk announced beyond the cap (a chunk-size line of 2^72) is refused when its size
            # line is read, not after the idle timeout: its bytes would never be accepted anyway.
            limit = self.adj.max_request_body_size
            if self.body_bytes_received + chunked.chunk_remainder >= limit:
                self.error = RequestEntityTooLarge(f"a chunk of {chunked.chunk_remainder:,} bytes exceeds max_body")
                self.completed = True
        return consumed

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.admission is not None and not self.chunked and self.admission.full_for(self.content_length):
            slots = self.admission.max_large_requests
            self.error = ServerBusyError(f"{slots} large requests are being processed; retry later")
            self.completed = True  # the body is never read


class SoapRefusalTask(ErrorTask):
    """waitress's error response, except that a request refused from its headers (too large, or
    over the memory budget) gets the SOAP fault."""

    def execute(self) -> None:
        error = self.request.error
        if not isinstance(error, RequestEntityTooLarge | ServerBusyError):
            super().execute()
            return
        version = SoapVersion.SOAP12 if self.request.path == "/soap12" else SoapVersion.SOAP11
        if isinstance(error, ServerBusyError):
            body = fault_envelope(ErrorCode.BUSY, error.body, version)
            self.response_headers.append(("Retry-After", "5"))
        else:
            limit = self.channel.server.adj.max_request_body_size - 1  # waitress refuses at >= its value
            announced = self.request.content_length if not self.request.chunked else 0
            size = f"request is {announced:,} bytes" if announced > limit else "request body is larger than the limit"
            body = fault_envelope(ErrorCode.TOO_LARGE, f"{size}; the limit is {limit:,} bytes", version)
        self.status = "500 Internal Server Error"  # SOAP 1.1 carries faults with HTTP 500
        self.response_headers.append(("Content-Type", version.content_type))
        self.set_close_on_finish()  # the rest of the body is never read
        self.content_length = len(body)
        self.write(body)


class SoapChannel(HTTPChannel):
    error_task_class = SoapRefusalTask
    head_clock: float  # since when it waits for a request head (connections.py)
    served = 0  # answers sent on this connection
    counted: str | None = None  # the peer this connection is counted under

    def __init__(self, server: Any, sock: socket.socket, addr: Any, adj: Any, map: Any = None) -> None:
        super().__init__(server, sock, addr, adj, map)
        self.head_clock = self.creation_time
        policy: ConnectionPolicy | None = getattr(server, "policy", None)
        if policy is None:
            return
        peer = str(addr[0]) if isinstance(addr, tuple) else str(addr)
        self.counted = peer
        opened = server.address_counts.opened(peer)
        if policy.max_per_address and peer not in policy.exempt and opened > policy.max_per_address:
            log.debug("connection from %s closed: %d open from there", peer, opened - 1)
            self.close()  # one more than the cap: closed as it arrives

    def del_channel(self, map: Any = None) -> None:
        if self.counted is not None:
            self.server.address_counts.closed(self.counted)
            self.counted = None
        super().del_channel(map)

    def service(self) -> None:
        super().service()
        self.served += 1
        self.head_clock = time.time()  # a kept-alive connection waits for its next head from now

    @property
    def parser_class(self) -> Callable[[Any], AdmittingParser]:  # type: ignore[override]
        admission = getattr(self.server, "admission", None)
        return lambda adj: AdmittingParser(adj, admission)

    def send_continue(self) -> None:
        # A body refused from its headers is not invited ("Expect: 100-continue").
        if self.request is None or not isinstance(self.request.error, RequestEntityTooLarge | ServerBusyError):
            super().send_continue()

    def handle_close(self) -> None:
        # A lingering close, as Apache and nginx do: closing a socket with unread input sends a
        # reset, which can destroy the fault before the client reads it. Say "no more" first
        # and take in (bounded, without waiting) what the client already sent.
        if self.socket is None:  # already closed (e.g. by an error while closing)
            return
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_WR)
            self.socket.setblocking(False)
            drained = 0
            while drained < _DRAIN_BYTES and (chunk := self.socket.recv(65536)):
                drained += len(chunk)
        super().handle_close()


def server_options(settings: Settings, threads: int) -> dict[str, Any]:
    """waitress adjustments for the connector (see the module docstring), and the connection rules
    (``connections``: taken out by ``create_server``)."""
    timeouts = [t for t in (settings.channel_timeout, settings.header_timeout) if t > 0]
    return {
        "threads": threads,
        "connection_limit": settings.connection_limit,
        "channel_timeout": settings.channel_timeout,
        "cleanup_interval": max(1, min(30, int(min(timeouts, default=60) / 2))),  # how often silent ones are looked for
        "max_request_body_size": settings.max_request_bytes + 1,
        "asyncore_use_poll": True,
        "ident": "edxml-connector",
        # The app alone decides whose proxy headers to believe (connector.auth.transport).
        "clear_untrusted_proxy_headers": False,
        "connections": ConnectionPolicy(
            settings.connection_limit,
            settings.header_timeout,
            settings.max_connections_per_address,
            frozenset(settings.auth.trusted_proxies),
        ),
    }


def create_server(
    app: Any,
    host: str | None = None,
    port: int | None = None,
    admission: LargeRequestGate | None = None,
    **options: Any,
) -> Any:
    """``waitress.create_server`` whose connections answer oversized bodies, and large ones
    beyond ``admission``'s budget, with the SOAP fault. ``sockets=[...]`` instead of ``host``
    and ``port``: serve sockets bound by another process (``server.py --workers``)."""
    address = {} if options.get("sockets") else {"host": host, "port": port}
    policy: ConnectionPolicy | None = options.pop("connections", None)
    server = waitress.create_server(app, **address, **options)
    listeners = [server, *getattr(server, "map", {}).values()]  # one per address when the host has several
    for listener in listeners:
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = SoapChannel
            listener.admission = admission
            if policy is not None:  # the connection rules (connections.py) on this listener
                listener.__class__ = type(f"Guarded{type(listener).__name__}", (GuardedServer, type(listener)), {})
                listener.policy = policy
                listener.address_counts = AddressCounts()
    return server


def serve_until(server: Any, stopping: threading.Event, grace: float) -> None:
    """Run ``server`` until ``stopping`` is set, then stop without hanging anyone:

    1. the listening sockets close at once, so new connections are refused and a load balancer
       retries them elsewhere (a ``--workers`` child closes only its own copy: its siblings go on
       accepting on the shared socket);
    2. requests being received or served get up to ``grace`` seconds to finish and be sent; idle
       keep-alive connections are closed, and so is each busy one once its answer is out;
    3. the request threads stop. What runs after this (the delivery threads) is the caller's.

    ``stopping.set()`` may be called from a signal handler; ``wake(server)`` makes the loop see it
    at once."""
    loop_map = _loop_map(server)
    while not stopping.is_set():
        server.asyncore.loop(timeout=1.0, map=loop_map, use_poll=True, count=1)
    for listener in _listeners(server):
        wasyncore.dispatcher.close(listener)  # the socket, not the trigger its channels still use
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        channels = [c for c in list(loop_map.values()) if isinstance(c, HTTPChannel)]
        if not channels:
            break
        for channel in channels:
            if not channel.requests and channel.request is None and not channel.total_outbufs_len:
                channel.will_close = True  # idle: nothing in flight on it
        server.asyncore.loop(timeout=0.1, map=loop_map, use_poll=True, count=1)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=max(deadline - time.monotonic(), 0.1))


def wake(server: Any) -> None:
    """Make ``serve_until``'s loop turn now (e.g. after ``stopping.set()`` in a signal handler)."""
    with contextlib.suppress(Exception):
        next(iter(_listeners(server))).pull_trigger()


def _loop_map(server: Any) -> dict[int, Any]:
    return server.map if hasattr(server, "map") else server._map


def _listeners(server: Any) -> list[BaseWSGIServer]:
    return [
        d for d in {id(d): d for d in [server, *_loop_map(server).values()]}.values() if isinstance(d, BaseWSGIServer)
    ]
