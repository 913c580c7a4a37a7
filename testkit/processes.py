"""Real processes run from the checkout: ``server.py``, ``python -m simulators``, gunicorn, and
the operator's commands (``python -m connector ...``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: processes run here, as a user runs them


def start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python ARGS`` in the checkout, its output (both streams) into ``log``."""
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=os.environ | (env or {})
    )


def stop(process: subprocess.Popen, timeout: float = 60) -> int:
    """SIGTERM, then its exit status; killed (and the timeout raised) if it does not end in time."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def set_password(config: Path, system_id: str, password: str) -> None:
    """As an operator does: ``python -m connector credentials set ID --password-stdin``."""
    run = subprocess.run(
        [sys.executable, "-m", "connector", "credentials", "set", system_id, "--password-stdin"]
        + ["--config", str(config)],
        cwd=ROOT,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
