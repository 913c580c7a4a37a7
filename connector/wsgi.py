"""The connector for any WSGI server: ``gunicorn connector.wsgi:application``.

Configured from the environment, as ``server.py`` is from its flags: ``CONNECTOR_CONFIG`` names
the TOML settings file (docs/operations.md; none: the embedded default under ``./data``), and
``CONNECTOR_DATABASE_URL`` and ``CONNECTOR_PUBLIC_URL`` override it. Set ``public_url`` (or
``CONNECTOR_PUBLIC_URL``): the served WSDL names it, and the WSGI server's own address is not
known here.

Each process that loads ``application`` builds its own runtime (migrating the schema first when
``auto_migrate`` says so; concurrent starts are serialised by a lock in
``connector/store/migrate.py``) and starts the delivery worker (``[delivery] enabled``; safe in
every process, see ``connector/serving/process.py``) and the evidence notary (``evidence_sign_interval``;
every process signs the chain's head once per interval when it moved). The WSGI server's worker
processes must load the application themselves (gunicorn's default, not ``--preload``; uWSGI
with ``lazy-apps``): database connections and threads do not survive a fork, and a process
forked from one that had loaded the application exits at once with status 3 (gunicorn's "worker
failed to boot") and says why, instead of serving with its parent's connections.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from connector.config import Settings, load_settings
from connector.ops.logs import configure_logging
from connector.serving.process import ServingProcess, build_process

CONFIG_ENV = "CONNECTOR_CONFIG"


def settings_from_environment(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    config = env.get(CONFIG_ENV)
    return load_settings(Path(config) if config else None, environ=dict(env))


FORKED_EXIT = 3  # gunicorn's WORKER_BOOT_ERROR: its master stops instead of forking again


class ConnectorWsgi:
    """The WSGI callable: this process's ``ServingProcess``, built when the module is loaded."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: ServingProcess | None = build_process(settings)
        self._process.start_background(delivery=True, notary=True, role=f"wsgi-{os.getpid()}")
        os.register_at_fork(after_in_child=_forked)
        atexit.register(self.close)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self._process is not None, "the connector was closed"
        return self._process.wsgi(environ, start_response)

    def close(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None


def _forked() -> None:
    """In a child forked after the application was loaded: its database connections are the
    parent's and its threads (delivery worker, notary, any lock holder) did not come along."""
    sys.stderr.write(
        "connector.wsgi was loaded before the WSGI server forked this worker (gunicorn --preload, uWSGI "
        "without lazy-apps): each worker process must load it itself\n"
    )
    sys.stderr.flush()
    os._exit(FORKED_EXIT)


@functools.cache
def _application() -> ConnectorWsgi:
    """The process's one application, built on first use."""
    settings = settings_from_environment()
    configure_logging(settings.log_format)
    return ConnectorWsgi(settings)


def __getattr__(name: str) -> Any:
    """``application`` is built when a WSGI server asks for it (``from connector.wsgi import
    application``, gunicorn's ``connector.wsgi:application``), not when the module is imported:
    importing it (a test that imports every module, a tool) starts nothing."""
    if name == "application":
        return _application()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
