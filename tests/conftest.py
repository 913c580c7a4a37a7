"""Shared fixtures: the shared sample folder and the guide's scenario as real packages; and the
check that the suite makes the connector answer with every documented fault code.

Every fault code is seen raised. ``connector.errors.ErrorCode`` is the documented fault table;
each code in it must be triggered by some test through the connector's real interfaces, and
observed there. Tests observe codes through ``testkit.faults`` (the ``refused_*`` helpers per
transport, ``documented_code``, ``fault_of``, ``detail_code``, ``code_of``), which note every code
they read in a file per process (one per pytest-xdist worker) in a directory this conftest
creates for the session and names in the ``TESTKIT_FAULTS_SEEN`` environment variable (the
workers, started after ``pytest_configure``, inherit it). At the end of the session, on the
xdist controller (or the only process without xdist), ``pytest_sessionfinish`` reads the record
and fails the run, naming the codes, if some ``ErrorCode`` was never seen: only when the whole
suite ran (the ``testpaths``, without ``-k``, ``-m``, ``--deselect`` or paths of one's own)
and nothing failed, so a partial run never fires it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from connector.errors import ErrorCode
from simulators import guide
from testkit import faults

ROOT = Path(__file__).resolve().parents[1]
# The shared samples beside the checkout (../shared), or where CONNECTOR_SHARED_DIR points.
SAMPLES = Path(os.environ.get("CONNECTOR_SHARED_DIR", ROOT.parent / "shared")) / "interop" / "edxml-samples"
FAULTS_SEEN = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "compat: imports and one SOAP round trip, run on every Python version")
    if not hasattr(config, "workerinput"):  # the xdist controller, or the only process
        record = Path(tempfile.mkdtemp(prefix="faults-seen-"))
        config.stash[FAULTS_SEEN] = record
        os.environ[faults.RECORD] = str(record)


def whole_suite(config: pytest.Config) -> bool:
    """Whether this session ran every test: the ``testpaths`` (or the tests directory named),
    nothing selected or deselected, not a collection only."""
    option = config.option
    named = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return (
        (config.args_source is pytest.Config.ArgsSource.TESTPATHS or named == [ROOT / "tests"])
        and not option.keyword
        and not option.markexpr
        and not (config.getoption("deselect", None) or [])
        and not option.collectonly
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    record = session.config.stash.get(FAULTS_SEEN, None)
    if record is None:  # an xdist worker: the controller checks
        return
    try:
        if exitstatus != pytest.ExitCode.OK or not whole_suite(session.config):
            return
        seen = faults.seen(record)
        missing = [code.value for code in ErrorCode if code.value not in seen]
        if missing:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            message = f"documented fault codes no test saw the connector raise: {', '.join(missing)}"
            if reporter is not None:
                reporter.line("")
                reporter.write_sep("=", "fault codes never observed", red=True, bold=True)
                reporter.write_line(message, red=True)
                reporter.write_line("(testkit.faults records what the tests observe: see tests/conftest.py)")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    finally:
        shutil.rmtree(record, ignore_errors=True)


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"shared edXML samples not found at {SAMPLES} (the ../shared folder is absent)")
    return SAMPLES


@pytest.fixture
def send_package():
    return guide.send_package()


@pytest.fixture
def result_package():
    return guide.result_package()
