"""Memory after a burst of large requests: does the connector give it back?

For each allocator setting, a fresh connector process (``server.py``, SQLite, delivery off) gets
a small warm-up send, then ``--sends`` sendDocument requests carrying a ``--size-mb`` file from
``--clients`` concurrent clients; its RSS is read from /proc: idle before, peak during (sampled
every 0.2 s), and ``--after`` seconds after the last answer. Results: docs/benchmarks-soak.md.

    .venv/bin/python bench/bench_memory.py [--sends 100] [--size-mb 5] [--clients 4] [--after 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import zeep
from common import MiB, free_port, machine, markdown_table, set_password
from envelopes import ONESTOP
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from connector.auth.admin import generate_password
from connector.edxml import build
from signing import init_dev_keys, sign_package
from simulators import guide

ROOT = Path(__file__).resolve().parents[1]

VARIANTS = {  # name: (malloc_arena_max, trim_after_bytes)
    "glibc defaults (8 arenas per core, no trim)": (0, 0),
    "MALLOC_ARENA_MAX=2 alone": (2, 0),
    "malloc_trim after large requests alone": (0, MiB),
    "both (the connector's default)": (2, MiB),
}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def client(url: str, password: str) -> zeep.Client:
    session = requests.Session()
    session.trust_env = False
    transport = Transport(session=session, timeout=10, operation_timeout=300)
    return zeep.Client(
        f"{url}/soap?wsdl",
        transport=transport,
        settings=zeep.Settings(strict=True, forbid_dtd=True),
        wsse=UsernameToken(ONESTOP, password, use_digest=True),
    )


def send(zc: zeep.Client, identity, n: int, padding: int) -> None:
    dossier = guide.Dossier(f"MEM-{uuid.uuid4().hex[:12]}", str(7_000_000 + n), "Nguyễn Văn An", "cbtiepnhan")
    package = sign_package(build(guide.send_package(dossier, padding=padding)), identity)
    zc.service.sendDocument(
        messageId=str(uuid.uuid4()),
        edxmlPackage=package,
        kind="INCOMING",
        senderUsername="cbtiepnhan",
        dossier={
            "dossierCode": dossier.code,
            "procedureCode": guide.PROCEDURE_CODE,
            "onestopNumber": dossier.onestop_number,
            "procedureName": guide.PROCEDURE_NAME,
            "applicant": dossier.applicant,
        },
    )


@dataclasses.dataclass
class Result:
    variant: str
    idle: float
    peak: float
    after: float
    seconds: float


def measure(name: str, arenas: int, trim: int, args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        port = free_port()
        config = Path(tmp) / "connector.toml"
        config.write_text(f"malloc_arena_max = {arenas}\ntrim_after_bytes = {trim}\n[delivery]\nenabled = false\n")
        server = subprocess.Popen(
            [sys.executable, "server.py", "--port", str(port), "--data-dir", f"{tmp}/data", "--config", str(config)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            server.stdout.readline()  # "connector listening on ..."
            url = f"http://127.0.0.1:{port}"
            identity = init_dev_keys(Path(tmp) / "data" / "keys").identity(guide.ONESTOP.organ_id)
            password = generate_password()
            set_password(ONESTOP, password, Path(tmp) / "data", config)
            zc = client(url, password)
            send(zc, identity, 0, 0)  # warm-up: imports, schemas, caches
            time.sleep(2)
            idle = rss_mib(server.pid)
            peak, done = [idle], threading.Event()

            def sample() -> None:
                while not done.wait(0.2):
                    peak[0] = max(peak[0], rss_mib(server.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.monotonic()
            padding = int(args.size_mb * MiB)
            clients = [client(url, password) for _ in range(args.clients)]
            with ThreadPoolExecutor(args.clients) as pool:
                list(
                    pool.map(lambda n: send(clients[n % args.clients], identity, n, padding), range(1, args.sends + 1))
                )
            seconds = time.monotonic() - started
            time.sleep(args.after)
            done.set()
            sampler.join()
            result = Result(name, idle, peak[0], rss_mib(server.pid), seconds)
            print(f"{name}: idle {idle:.0f} MiB, peak {peak[0]:.0f} MiB, after {result.after:.0f} MiB", flush=True)
            return result
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=100)
    parser.add_argument("--size-mb", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--after", type=float, default=60.0, help="seconds idle before the last reading")
    parser.add_argument("--variant", action="append", choices=list(VARIANTS), help="default: all")
    args = parser.parse_args()
    results = [measure(name, *VARIANTS[name], args) for name in args.variant or VARIANTS]
    print()
    for key, value in machine().items():
        print(f"- {key}: {value}")
    print(f"\n{args.sends} sendDocument requests with a {args.size_mb:g} MB file from {args.clients} clients:\n")
    rows = [
        (r.variant, f"{r.idle:.0f}", f"{r.peak:.0f}", f"{r.after:.0f}", f"{r.after - r.idle:+.0f}", f"{r.seconds:.0f}")
        for r in results
    ]
    headers = ["allocator setting", "idle RSS (MiB)", "peak", f"{args.after:g} s after", "kept", "burst (s)"]
    print(markdown_table(headers, rows))


if __name__ == "__main__":
    main()
