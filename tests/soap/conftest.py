"""A real connector on 127.0.0.1 (waitress, SQLite in a temp dir, development keys) and a zeep
client for it."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import zeep
from zeep.transports import Transport

from connector.config import load_settings
from connector.edxml import Package, build
from connector.httpserver import BackgroundServer
from connector.runtime import Runtime, build_runtime
from connector.soap.app import ConnectorApp
from connector.soap.transport import server_options
from signing import sign_package


@dataclass
class LiveConnector:
    url: str
    runtime: Runtime
    keys_dir: Path

    def sign(self, package: Package, organ_id: str | None = None) -> bytes:
        identity = self.runtime.dev_keys.identity(organ_id or package.sender.organ_id)
        return sign_package(build(package), identity)

    def client(self) -> zeep.Client:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE etc. must not leak into tests
        transport = Transport(session=session, timeout=10, operation_timeout=30)
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True)
        return zeep.Client(f"{self.url}/soap?wsdl", transport=transport, settings=settings)


def start_connector(
    data_dir: Path, database_url: str | None = None, **overrides: object
) -> tuple[LiveConnector, BackgroundServer]:
    overrides.setdefault("auto_migrate", "always")  # PostgreSQL too: each test's database starts empty
    settings = load_settings(
        None,
        environ={},
        data_dir=data_dir,
        database_url=database_url,
        delivery=overrides.pop("delivery", {"enabled": False}),
        **overrides,
    )
    runtime = build_runtime(settings)
    holder: dict[str, ConnectorApp] = {}
    # The production server's limits (connections, idle timeout, size cap as a SOAP fault).
    server = BackgroundServer(
        lambda environ, start: holder["app"](environ, start), **server_options(settings, threads=4)
    )
    # The WSDL address is pinned from configuration once the port is known, as an operator would.
    runtime.settings = dataclasses.replace(settings, public_url=server.url)
    holder["app"] = ConnectorApp(runtime)
    server.start()
    return LiveConnector(server.url, runtime, settings.effective_keys_dir), server


@pytest.fixture
def connector(tmp_path) -> Iterator[LiveConnector]:
    live, server = start_connector(tmp_path / "data")
    yield live
    server.stop()
    live.runtime.close()


def new_id() -> str:
    return str(uuid.uuid4())
