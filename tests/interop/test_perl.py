"""Perl: SOAP::Lite (Debian ``libsoap-lite-perl``), document/literal written by hand - SOAP::Lite
generates no client from a WSDL of this style - with every string typed as ``xsd:string``
(autotyped, non-ASCII text would go as base64Binary and the schema refuses it) and a
UsernameToken header of its own making, to ``/soap``."""

from __future__ import annotations

from pathlib import Path

from tests.interop.conftest import check_transcript, credentials, new_order, require, run

CLIENT = Path(__file__).parent / "perl" / "client.pl"
SOAP_LITE = "/usr/share/perl5/SOAP/Lite.pm"


def test_a_soap_lite_client_sends_reads_the_status_and_gets_a_typed_fault(live, tmp_path):
    require("perl", SOAP_LITE, why="Debian package libsoap-lite-perl")
    order = new_order(live, tmp_path, "perl")
    output = run(["perl", CLIENT, *order.arguments(live.url)], cwd=tmp_path, timeout=120, env=credentials(live))
    check_transcript(live, order, output)
