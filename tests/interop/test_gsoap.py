"""C/C++: gSOAP ``wsdl2h`` + ``soapcpp2`` with default options (Debian ``gsoap``, ``libgsoap-dev``).

wsdl2h makes a SOAP 1.2 client of a WSDL that has a SOAP 1.2 binding: this client calls the
WSDL's SOAP 1.2 port, ``/soap12`` (the SOAP 1.1 port answers it with a VersionMismatch fault).
It authenticates with HTTP Basic over TLS, through nginx (``tls``): gSOAP sends a UsernameToken
only with its wsse plugin, which is not a default option."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import check_transcript, credentials, new_order, require, run

HERE = Path(__file__).parent
GSOAP_IMPORTS = "/usr/share/gsoap/import"  # stlvector.h, soap12.h: gSOAP's own, not options
GSOAP_HEADER = "/usr/include/stdsoap2.h"
OPENSSL_HEADER = "/usr/include/openssl/ssl.h"


@pytest.fixture(scope="module")
def gsoap_client(live, tmp_path_factory) -> Path:
    require(
        "wsdl2h",
        "soapcpp2",
        "g++",
        GSOAP_HEADER,
        OPENSSL_HEADER,
        why="Debian packages gsoap, libgsoap-dev and libssl-dev, and g++",
    )
    build = tmp_path_factory.mktemp("gsoap")
    run(["wsdl2h", "-o", "connector.h", f"{live.url}/soap?wsdl"], cwd=build)
    run(["soapcpp2", f"-I{GSOAP_IMPORTS}", "connector.h"], cwd=build)
    sources = [HERE / "gsoap" / "client.cpp", "soapC.cpp", "soapClient.cpp"]
    # HTTPS: every unit is built WITH_OPENSSL (it changes struct soap) and linked with gSOAP's SSL runtime.
    flags = ["-DWITH_OPENSSL", "-I."]
    run(["g++", "-o", "client", *flags, *sources, "-lgsoapssl++", "-lssl", "-lcrypto"], cwd=build)
    return build / "client"


def test_the_gsoap_client_is_generated_from_the_served_wsdl_and_compiles(gsoap_client):
    assert gsoap_client.is_file()


def test_a_gsoap_client_sends_reads_the_status_and_gets_a_typed_fault(live, tls, gsoap_client, tmp_path):
    """HTTP Basic over TLS: WS-Security needs gSOAP's wsse plugin, not a default option."""
    order = new_order(live, tmp_path, "gsoap")
    env = {**credentials(live), "CONNECTOR_CA_FILE": str(tls.ca_file)}
    output = run([gsoap_client, *order.arguments(tls.url)], cwd=tmp_path, timeout=120, env=env)
    check_transcript(live, order, output)
