"""A connector on its embedded defaults with the guide's exchange in it, and a local TSA."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from connector.config import load_settings
from connector.edxml import StatusCode, build
from connector.serving.runtime import Runtime, build_runtime
from signing import SigningOptions, sign_package
from simulators import guide
from tests.evidence.tsa import LocalTsa, start_tsa
from tests.service.conftest import AGENCY, ONESTOP, send_request, status_request


@pytest.fixture
def tsa(tmp_path_factory) -> Iterator[LocalTsa]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (the local time-stamping authority needs `openssl ts`)")
    local, server = start_tsa(tmp_path_factory.mktemp("tsa"))
    yield local
    server.shutdown()
    server.server_close()


def play_guide(runtime: Runtime) -> None:
    """The guide's incoming document, then the agency's "assigned" status."""

    def signed(package) -> bytes:
        return sign_package(build(package), runtime.dev_keys.identity(package.sender.organ_id), SigningOptions())

    runtime.service.send_document(send_request(signed(guide.send_package())), ONESTOP)
    runtime.service.update_status(status_request(signed(guide.status_package(StatusCode.ASSIGNED))), AGENCY)


def make_runtime(data_dir, **settings) -> Runtime:
    return build_runtime(load_settings(None, environ={}, data_dir=data_dir, delivery={"enabled": False}, **settings))


@pytest.fixture
def runtime(tmp_path) -> Iterator[Runtime]:
    built = make_runtime(tmp_path)
    play_guide(built)
    yield built
    built.close()
