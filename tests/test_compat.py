"""Run on every supported Python (.ci/compat runs these on 3.12 and 3.13 in their own venvs):
every module imports, and one real SOAP round trip over HTTP works."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import pytest

import connector
import signing

pytestmark = pytest.mark.compat


def test_every_module_imports():
    for package in (connector, signing):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    assert sys.version_info >= (3, 11)


def test_one_real_soap_round_trip(tmp_path):
    from simulators import guide
    from testkit.live import start_connector
    from testkit.net import new_id
    from tests.soap.test_guide_cases import DOSSIER

    live, server = start_connector(tmp_path / "data")
    try:
        receipt = live.client().service.sendDocument(
            messageId=new_id(),
            edxmlPackage=live.sign(guide.send_package()),
            kind="INCOMING",
            senderUsername="cbtiepnhan",
            dossier=DOSSIER,
        )
        assert receipt.routing.queue == "registration"
    finally:
        server.stop()
        live.runtime.close()
