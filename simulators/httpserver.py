"""A waitress server that runs in a background thread and stops cleanly: used by the demo (the
connector and both simulators in one process) and by tests (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from connector.serving.httpserver import create_server


class BackgroundServer:
    def __init__(
        self,
        app: Callable[..., Any],
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 4,
        max_request_body_size: int = 1 << 30,
        **options: Any,
    ) -> None:
        """``options``: more waitress adjustments (the connector's own come from
        ``connector.serving.httpserver.server_options``)."""
        options = {
            "threads": threads,
            "ident": "edxml-connector",
            "max_request_body_size": max_request_body_size,
            # The app alone decides whose proxy headers to believe (connector.auth.transport).
            "clear_untrusted_proxy_headers": False,
        } | options
        self._server = create_server(app, host, port, **options)
        self.host = host
        self.port = self._server.effective_port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"http-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def _run(self) -> None:
        # waitress's own run() loops forever; looping here lets stop() end it between polls.
        while not self._stop.is_set():
            self._server.asyncore.loop(timeout=0.1, map=self._server._map, use_poll=True, count=1)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        # Close accepted (keep-alive) connections too: a pooled client would otherwise wait
        # out its whole read timeout on a socket nobody serves any more.
        for channel in list(self._server._map.values()):
            channel.close()
        self._server.task_dispatcher.shutdown()
