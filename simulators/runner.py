"""Running a simulator: in a background thread (tests, the all-in-one demo) or in the foreground."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import waitress

from simulators.httpserver import BackgroundServer


class Servable(Protocol):
    def wsgi_app(self, address: str) -> Callable[..., Iterable[bytes]]: ...


def start_in_background(
    simulator: Servable, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None
) -> BackgroundServer:
    """Serve on ``host:port`` (0 = any free port); the WSDL address is pinned to the real port
    (or ``public_url``) once it is known, before the first request can arrive."""
    slot: list[Callable[..., Iterable[bytes]]] = []
    server = BackgroundServer(lambda environ, start: slot[0](environ, start), host=host, port=port)
    slot.append(simulator.wsgi_app(f"{(public_url or server.url).rstrip('/')}/soap"))
    return server.start()


def serve_forever(
    simulator: Servable, host: str, port: int, public_url: str | None = None, **waitress_options: Any
) -> None:
    app = simulator.wsgi_app(f"{(public_url or f'http://{host}:{port}').rstrip('/')}/soap")
    waitress.serve(app, host=host, port=port, ident="edxml-connector-simulator", **waitress_options)
