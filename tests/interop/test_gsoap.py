"""C/C++: gSOAP ``wsdl2h`` + ``soapcpp2`` with default options (Debian ``gsoap``, ``libgsoap-dev``).

wsdl2h makes a SOAP 1.2 client of a WSDL that has a SOAP 1.2 binding: this client calls the
WSDL's SOAP 1.2 port, ``/soap12`` (the SOAP 1.1 port answers it with a VersionMismatch fault)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import NEEDS_TLS, check_transcript, new_order, require, run

HERE = Path(__file__).parent
GSOAP_IMPORTS = "/usr/share/gsoap/import"  # stlvector.h, soap12.h: gSOAP's own, not options
GSOAP_HEADER = "/usr/include/stdsoap2.h"


@pytest.fixture(scope="module")
def gsoap_client(live, tmp_path_factory) -> Path:
    require("wsdl2h", "soapcpp2", "g++", GSOAP_HEADER, why="Debian packages gsoap and libgsoap-dev, and g++")
    build = tmp_path_factory.mktemp("gsoap")
    run(["wsdl2h", "-o", "connector.h", f"{live.url}/soap?wsdl"], cwd=build)
    run(["soapcpp2", f"-I{GSOAP_IMPORTS}", "connector.h"], cwd=build)
    sources = [HERE / "gsoap" / "client.cpp", "soapC.cpp", "soapClient.cpp"]
    run(["g++", "-o", "client", "-I.", *sources, "-lgsoap++"], cwd=build)
    return build / "client"


def test_the_gsoap_client_is_generated_from_the_served_wsdl_and_compiles(gsoap_client):
    assert gsoap_client.is_file()


@pytest.mark.skip(reason=NEEDS_TLS)
def test_a_gsoap_client_sends_reads_the_status_and_gets_a_typed_fault(live, gsoap_client, tmp_path):
    order = new_order(live, tmp_path, "gsoap")
    output = run([gsoap_client, *order.arguments(live.url)], cwd=tmp_path, timeout=120)
    check_transcript(live, order, output)
