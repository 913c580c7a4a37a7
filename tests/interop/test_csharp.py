""".NET: Mono's ``wsdl`` proxy generator and the C# compiler ``mcs`` (Debian ``mono-devel``).

By default the generated proxy calls the WSDL's own address and authenticates with a
WS-Security UsernameToken added by a ``SoapExtension`` registered in ``client.exe.config``
(``csharp/UsernameToken.cs``): the proxy itself is used as generated. HTTP Basic over TLS,
through nginx (``tls``), is the other way an ASMX proxy authenticates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.interop.conftest import check_transcript, credentials, new_order, require, run

HERE = Path(__file__).parent
CONFIG = HERE / "csharp" / "client.exe.config"


@pytest.fixture(scope="module")
def csharp_client(live, tmp_path_factory) -> Path:
    require("wsdl", "mcs", "mono", why="Debian package mono-devel")
    build = tmp_path_factory.mktemp("csharp")
    run(["wsdl", "-nologo", "-out:ConnectorService.cs", f"{live.url}/soap?wsdl"], cwd=build)
    sources = ["ConnectorService.cs", HERE / "csharp" / "Client.cs", HERE / "csharp" / "UsernameToken.cs"]
    run(["mcs", "-nologo", "-out:client.exe", "-r:System.Web.Services", "-r:System.Xml", *sources], cwd=build)
    return build / "client.exe"


def test_the_mono_client_is_generated_from_the_served_wsdl_and_compiles(csharp_client):
    assert csharp_client.is_file()


def test_a_mono_wsdl_client_with_a_usernametoken_extension_from_its_default_url(live, csharp_client, tmp_path):
    """The proxy's default Url; the SoapExtension registered in the configuration file."""
    shutil.copy(csharp_client, tmp_path / "client.exe")
    shutil.copy(CONFIG, tmp_path / "client.exe.config")
    order = new_order(live, tmp_path, "csharp")
    output = run(
        ["mono", tmp_path / "client.exe", "default", *order.arguments(live.url)[1:]],
        cwd=tmp_path,
        timeout=120,
        env=credentials(live),
    )
    check_transcript(live, order, output)


def test_a_mono_wsdl_client_sends_http_basic_over_tls(live, tls, csharp_client, tmp_path):
    """Without the extension's configuration: HTTP Basic over TLS, through nginx."""
    order = new_order(live, tmp_path, "csharp-basic")
    env = {**credentials(live), "CONNECTOR_CA_FILE": str(tls.ca_file)}
    output = run(["mono", csharp_client, *order.arguments(tls.url)], cwd=tmp_path, timeout=120, env=env)
    check_transcript(live, order, output)
