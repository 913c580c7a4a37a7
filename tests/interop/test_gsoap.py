"""C/C++: gSOAP ``wsdl2h`` + ``soapcpp2`` with default options (Debian ``gsoap``, ``libgsoap-dev``).

From ``/soap?wsdl`` - one SOAP 1.1 binding - wsdl2h makes a SOAP 1.1 client whose default
endpoint (NULL) is the WSDL's own address. (While the WSDL also held the SOAP 1.2 binding, the
generated default spoke SOAP 1.2 to ``/soap``.) It authenticates with a UsernameToken
(PasswordDigest) from gSOAP's ``wsse`` plugin: one ``#import "wsse.h"`` added to the header
wsdl2h wrote, and the plugin's sources compiled in, as the plugin's documentation says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import check_transcript, credentials, new_order, require, run

HERE = Path(__file__).parent
GSOAP = Path("/usr/share/gsoap")  # import/ (stlvector.h, wsse.h), plugin/ (wsseapi), custom/
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
        str(GSOAP / "plugin" / "wsseapi.cpp"),
        why="Debian packages gsoap, libgsoap-dev and libssl-dev, and g++",
    )
    build = tmp_path_factory.mktemp("gsoap")
    run(["wsdl2h", "-o", "connector.h", f"{live.url}/soap?wsdl"], cwd=build)
    with (build / "connector.h").open("a", encoding="utf-8") as header:
        header.write('#import "wsse.h"\n')  # the wsse plugin's SOAP header types
    run(["soapcpp2", f"-I{GSOAP / 'import'}", "connector.h"], cwd=build)
    plugin = GSOAP / "plugin"
    sources = [HERE / "gsoap" / "client.cpp", "soapC.cpp", "soapClient.cpp", plugin / "wsseapi.cpp"]
    # The plugin's C helpers (digests; xsd:dateTime as struct timeval for wsu:Created) built as C++.
    helpers = ["-x", "c++", plugin / "smdevp.c", plugin / "mecevp.c", GSOAP / "custom" / "struct_timeval.c"]
    flags = ["-DWITH_OPENSSL", "-DWITH_DOM", "-I.", f"-I{GSOAP}", f"-I{plugin}"]  # the plugin hashes with OpenSSL
    run(["g++", "-o", "client", *flags, *sources, *helpers, "-lgsoapssl++", "-lssl", "-lcrypto", "-lz"], cwd=build)
    return build / "client"


def test_the_gsoap_client_is_generated_from_the_served_wsdl_and_compiles(gsoap_client):
    assert gsoap_client.is_file()


def test_a_gsoap_client_sends_reads_the_status_and_gets_a_typed_fault(live, gsoap_client, tmp_path):
    """From the WSDL's own address, with the wsse plugin's UsernameToken."""
    order = new_order(live, tmp_path, "gsoap")
    arguments = order.arguments(live.url)[1:]  # no base URL: the generated default endpoint
    output = run([gsoap_client, *arguments], cwd=tmp_path, timeout=120, env=credentials(live))
    check_transcript(live, order, output)
