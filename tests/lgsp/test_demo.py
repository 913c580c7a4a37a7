"""``python server.py --demo --demo-topology lgsp`` plays the guide's case through the gateway
simulator and a third agency's over the axis simulator, as real processes' threads on real ports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.lgsp.test_cli import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_the_lgsp_demo_plays_through_the_gateway_and_the_axis(tmp_path):
    ports = [free_port() for _ in range(3)]
    done = subprocess.run(
        [sys.executable, "server.py", "--demo", "--demo-topology", "lgsp", "--exit-after-demo",
         "--data-dir", str(tmp_path), "--port", str(ports[0]), "--demo-ports", f"{ports[1]},{ports[2]}"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "1 OAuth2 token(s) fetched, 1 call(s) forwarded with X-JWT-Assertion, 0 refused" in out
    assert "authenticated by the gateway's assertion as eoffice-stp" in out
    assert "routed to eoffice-ubnd (protocol vxp)" in out
    assert "result 15/GPXD from UBND over the axis: polled, publishResult accepted, exchange finished" in out
    assert "dossier Bo_Thu_Tuc_Cap_Tinh-221126-0001 is finished" in out and out.rstrip().endswith("demo complete")
