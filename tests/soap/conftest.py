"""The live connector of the SOAP tests (``testkit.live``), one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.live import LiveConnector, start_connector


@pytest.fixture
def connector(tmp_path) -> Iterator[LiveConnector]:
    live, server = start_connector(tmp_path / "data")
    yield live
    server.stop()
    live.runtime.close()
