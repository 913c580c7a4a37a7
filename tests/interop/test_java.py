"""Java: JAX-WS ``wsimport`` (Debian ``jaxws``, the default JDK), no binding customisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import check_transcript, credentials, new_order, require, run

HERE = Path(__file__).parent
JAXWS_RUNTIME = "/usr/share/java/jaxws-rt.jar"  # its manifest lists the rest of the JAX-WS RI


@pytest.fixture(scope="module")
def java_client(live, tmp_path_factory) -> Path:
    require("wsimport", "javac", "java", JAXWS_RUNTIME, why="Debian packages jaxws and default-jdk")
    build = tmp_path_factory.mktemp("java")
    run(["wsimport", "-quiet", "-d", build, f"{live.url}/soap?wsdl"], cwd=build)
    run(["javac", "-cp", f"{build}:{JAXWS_RUNTIME}", "-d", build, HERE / "java" / "Client.java"], cwd=build)
    return build


def test_a_wsimport_client_sends_reads_the_status_and_gets_a_typed_fault(live, java_client, tmp_path):
    order = new_order(live, tmp_path, "java")
    command = ["java", "-cp", f"{java_client}:{JAXWS_RUNTIME}", "Client", *order.arguments(live.url)]
    output = run(command, cwd=tmp_path, env=credentials(live))
    check_transcript(live, order, output)
