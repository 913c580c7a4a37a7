"""Java: Apache Axis 1.4 ``WSDL2Java`` (Debian ``libaxis-java``), default options, compiled with
``javac`` - still common in older government Java systems. Its stubs call the WSDL's own
address (``/soap``), with a UsernameToken set as a stub header before each call.

Axis 1.4 (with wsdl4j 1.6) cannot read a WSDL that declares faults on a SOAP 1.2 binding
(``Missing <soap:fault> element inFault "ConnectorFault"``): it runs only because each
endpoint's WSDL describes that endpoint alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import check_transcript, credentials, new_order, require, run

HERE = Path(__file__).parent
JARS = Path("/usr/share/java")
# Axis and what it loads: the JAX-RPC and SAAJ APIs (Axis's own), WSDL4J, Commons Discovery and
# Logging, and JavaBeans Activation and JavaMail (attachments support, probed at start-up).
CLASSPATH = [
    JARS / name
    for name in (
        "axis.jar",
        "axis-jaxrpc.jar",
        "axis-saaj.jar",
        "wsdl4j.jar",
        "commons-discovery.jar",
        "commons-logging.jar",
        "javax.activation.jar",
        "javax.mail.jar",
    )
]


def classpath(*extra: Path) -> str:
    return ":".join(str(path) for path in (*extra, *CLASSPATH))


@pytest.fixture(scope="module")
def axis_client(live, tmp_path_factory) -> Path:
    require("javac", "java", *(str(jar) for jar in CLASSPATH), why="Debian packages libaxis-java and default-jdk")
    build = tmp_path_factory.mktemp("axis")
    # WSDL2Java with its defaults: the package comes from the namespace (_1.connector.lienthong.vn).
    run(["java", "-cp", classpath(), "org.apache.axis.wsdl.WSDL2Java", "-o", "src", f"{live.url}/soap?wsdl"], cwd=build)
    sources = sorted((build / "src").rglob("*.java"))
    assert any(source.name == "ConnectorServiceLocator.java" for source in sources), sources
    classes = build / "classes"
    classes.mkdir()
    run(["javac", "-nowarn", "-d", classes, "-cp", classpath(), *sources, HERE / "axis" / "AxisClient.java"], cwd=build)
    return classes


def test_an_axis_client_sends_reads_the_status_and_gets_a_typed_fault(live, axis_client, tmp_path):
    """From the generated locator's default address - no endpoint given."""
    order = new_order(live, tmp_path, "axis")
    arguments = order.arguments(live.url)[1:]  # no base URL: the WSDL's address is the default
    command = ["java", "-cp", classpath(axis_client), "AxisClient", *arguments]
    output = run(command, cwd=tmp_path, timeout=120, env=credentials(live))
    check_transcript(live, order, output)
