"""PHP: ext/soap's ``SoapClient`` (Debian ``php-cli``, ``php-soap``) reading the served WSDL, with
no ``location`` option - the WSDL's own address - and a UsernameToken sent as a ``SoapHeader``
holding ``XSD_ANYXML``. Also as integrators often write it, ``soap_version => SOAP_1_2`` against
``/soap?wsdl``: a SOAP 1.2 envelope to ``/soap``, answered in SOAP 1.2 (refused with a
``VersionMismatch`` before issue 23)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import check_transcript, credentials, new_order, require, run

CLIENT = Path(__file__).parent / "php" / "client.php"


def require_php_soap() -> None:
    require("php", why="Debian packages php-cli and php-soap")
    modules = run(["php", "-m"], cwd=CLIENT.parent)
    if "soap" not in modules.split():
        require("php-soap extension", why="Debian package php-soap")


@pytest.mark.parametrize(
    "path,soap_version",
    [("/soap", None), ("/soap", "1.2"), ("/soap12", None)],
    ids=["soap-wsdl", "soap-wsdl-with-SOAP_1_2", "soap12-wsdl"],
)
def test_a_php_soap_client_sends_reads_the_status_and_gets_a_typed_fault(live, tmp_path, path, soap_version):
    require_php_soap()
    order = new_order(live, tmp_path, "php")
    env = credentials(live) | ({"CONNECTOR_SOAP_VERSION": soap_version} if soap_version else {})
    arguments = [f"{live.url}{path}?wsdl", *order.arguments(live.url)[1:]]
    output = run(["php", CLIENT, *arguments], cwd=tmp_path, timeout=120, env=env)
    check_transcript(live, order, output)
