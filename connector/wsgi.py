"""The connector for any WSGI server: ``gunicorn connector.wsgi:application``.

Configured from the environment, as ``server.py`` is from its flags: ``CONNECTOR_CONFIG`` names
the TOML settings file (docs/operations.md; none: the embedded default under ``./data``), and
``CONNECTOR_DATABASE_URL`` and ``CONNECTOR_PUBLIC_URL`` override it. Set ``public_url`` (or
``CONNECTOR_PUBLIC_URL``): the served WSDL names it, and the WSGI server's own address is not
known here.

Each process that imports this module builds its own runtime (migrating the schema first when
``auto_migrate`` says so; concurrent starts are serialised by a lock in
``connector/store/migrate.py``) and starts the delivery worker (``[delivery] enabled``; safe in
every process, see ``connector/serving.py``) and the evidence notary (``evidence_sign_interval``;
every process signs the chain's head once per interval when it moved). The WSGI server's worker
processes should load the application themselves (gunicorn's default; not ``--preload``): a
process forked from one that had loaded it rebuilds everything on its first request, since a
database connection or a thread does not survive a fork.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from connector.config import Settings, load_settings
from connector.logs import configure_logging
from connector.serving import ServingProcess, build_process

CONFIG_ENV = "CONNECTOR_CONFIG"


def settings_from_environment(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    config = env.get(CONFIG_ENV)
    return load_settings(Path(config) if config else None, environ=dict(env))


class ConnectorWsgi:
    """The WSGI callable: the process's ``ServingProcess``, rebuilt once in a forked child."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._process: ServingProcess | None = None
        self._start()
        os.register_at_fork(after_in_child=self._forget)
        atexit.register(self.close)

    def _start(self) -> ServingProcess:
        process = build_process(self.settings)
        process.start_background(delivery=True, notary=True)
        self._process = process
        return process

    def _forget(self) -> None:
        """In a forked child: the parent's pooled connections are the parent's (closing them here
        would end its sessions), and its threads did not come along."""
        self._lock = threading.Lock()
        if self._process is not None:
            self._process.runtime.store.engine.dispose(close=False)
        self._process = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        process = self._process
        if process is None:
            with self._lock:
                process = self._process or self._start()
        return process.wsgi(environ, start_response)

    def close(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None


def _application() -> ConnectorWsgi:
    settings = settings_from_environment()
    configure_logging(settings.log_format)
    return ConnectorWsgi(settings)


application = _application()
