""".NET: Mono's ``wsdl`` proxy generator and the C# compiler ``mcs`` (Debian ``mono-devel``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import check_transcript, credentials, new_order, require, run

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def csharp_client(live, tmp_path_factory) -> Path:
    require("wsdl", "mcs", "mono", why="Debian package mono-devel")
    build = tmp_path_factory.mktemp("csharp")
    run(["wsdl", "-nologo", "-out:ConnectorService.cs", f"{live.url}/soap?wsdl"], cwd=build)
    sources = ["ConnectorService.cs", HERE / "csharp" / "Client.cs"]
    run(["mcs", "-nologo", "-out:client.exe", "-r:System.Web.Services", "-r:System.Xml", *sources], cwd=build)
    return build / "client.exe"


def test_the_mono_client_is_generated_from_the_served_wsdl_and_compiles(csharp_client):
    assert csharp_client.is_file()


def test_a_mono_wsdl_client_sends_reads_the_status_and_gets_a_typed_fault(live, tls, csharp_client, tmp_path):
    """HTTP Basic over TLS: the ASMX proxy has no WS-Security."""
    order = new_order(live, tmp_path, "csharp")
    env = {**credentials(live), "CONNECTOR_CA_FILE": str(tls.ca_file)}
    output = run(["mono", csharp_client, *order.arguments(tls.url)], cwd=tmp_path, timeout=120, env=env)
    check_transcript(live, order, output)
