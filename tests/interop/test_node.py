"""Node.js: node-soap (npm ``soap``, installed into tests/interop/node by .ci/ensure-tools), through
its default shortcut methods (``client.sendDocumentAsync``), which take the WSDL's last port: the
one port of ``/soap?wsdl`` (while the WSDL also held the SOAP 1.2 port, they wrote SOAP 1.1 to
``/soap12``)."""

from __future__ import annotations

from pathlib import Path

from tests.interop.conftest import check_transcript, credentials, new_order, require, run

NODE = Path(__file__).parent / "node"


def test_a_node_soap_client_sends_reads_the_status_and_gets_a_typed_fault(live, tmp_path):
    require("node", str(NODE / "node_modules" / "soap"), why="Node.js and npm soap (npm ci in tests/interop/node)")
    order = new_order(live, tmp_path, "node")
    command = ["node", NODE / "client.js", *order.arguments(live.url)]
    output = run(command, cwd=NODE, timeout=120, env=credentials(live))
    check_transcript(live, order, output)
