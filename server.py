"""Run the connector: ``python server.py [--host 127.0.0.1] [--port 8080] [--data-dir DIR] [--config FILE]``.

With no configuration the first run sets up the embedded default in the data directory
(SQLite, development keys, the guide's sample directory). ``--demo`` also starts both partner
simulators and plays the guide's two cases (see README).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

import waitress

from connector.config import ConfigError, Settings, load_settings
from connector.errors import ConnectorError
from connector.runtime import build_runtime, build_worker
from connector.soap.app import ConnectorApp
from signing import KeyMaterialError
from simulators.demo import Demo, DemoError, DemoPorts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--config", type=Path, help="TOML settings file (docs/operations.md)")
    parser.add_argument("--public-url", help="address written into the WSDL (default http://HOST:PORT)")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    parser.add_argument(
        "--demo", action="store_true", help="also run both partner simulators and play the guide's two cases"
    )
    parser.add_argument(
        "--demo-ports", default="8091,8092", metavar="ONESTOP,DOCMGMT", help="simulator ports for --demo"
    )
    parser.add_argument("--exit-after-demo", action="store_true", help="stop once the demo has played (for CI)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(
            args.config, host=args.host, port=args.port, data_dir=args.data_dir, public_url=args.public_url
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.demo:
            return run_demo(settings, args.demo_ports, args.exit_after_demo)
        return serve(settings, args.threads)
    except OSError as exc:  # typically: the port is taken
        where = f"{settings.host}:{settings.port}" + (
            f" (or the simulators' ports {args.demo_ports})" if args.demo else ""
        )
        print(f"error: cannot listen on {where}: {exc.strerror}", file=sys.stderr)
    except (ConnectorError, KeyMaterialError, ValueError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
    return 2


def serve(settings: Settings, threads: int) -> int:
    runtime = build_runtime(settings)
    app = ConnectorApp(runtime)
    server = waitress.create_server(
        app,
        host=settings.host,
        port=settings.port,
        threads=threads,
        ident="edxml-connector",
        # The app answers oversized requests with a Client.TooLarge fault; waitress's own limit
        # (a plain-text 413) must sit well above it.
        max_request_body_size=max(4 * settings.max_request_bytes, 1 << 30),
    )  # binds now: a taken port fails before the worker starts
    worker = build_worker(runtime).start() if settings.delivery.enabled else None
    interval = settings.evidence_sign_interval
    notary = runtime.notary.start(interval) if interval > 0 else None  # signs the evidence chain's head
    print(
        f"connector listening on http://{settings.host}:{settings.port}/soap  (WSDL: {app.public_url}/soap?wsdl)",
        flush=True,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None:
            worker.stop()
        if notary is not None:
            notary.set()
        runtime.close()
    return 0


def run_demo(settings: Settings, demo_ports: str, exit_after: bool) -> int:
    onestop, docmgmt = (int(p) for p in demo_ports.split(","))
    logging.getLogger().setLevel(logging.WARNING)  # the demo's own lines tell the story
    demo = Demo(settings, DemoPorts(settings.port, onestop, docmgmt), say=lambda line: print(line, flush=True))
    try:
        demo.play()
        if not exit_after:
            print("still serving (Ctrl-C to stop):", flush=True)
            for line in demo.urls():
                print("  " + line, flush=True)
            threading.Event().wait()
    except DemoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
