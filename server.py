"""Run the connector: ``python server.py [--host 127.0.0.1] [--port 8080] [--data-dir DIR] [--config FILE]``.

With no configuration the first run sets up the embedded default in the data directory
(SQLite, migrated on start; development keys; the guide's sample directory without partner
endpoints). ``--demo`` also starts both partner simulators and plays the guide's two cases in
DATA_DIR/demo (see README). Ctrl-C (SIGINT) or SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from connector import memory
from connector.config import ConfigError, Settings, load_settings
from connector.errors import ConnectorError
from connector.logs import configure_logging
from connector.runtime import build_runtime, build_worker
from connector.soap import transport
from connector.soap.app import ConnectorApp
from connector.store import MigrationError
from signing import KeyMaterialError
from simulators.demo import Demo, DemoError, DemoPorts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument("--data-dir", type=Path, help="database, development keys (default ./data)")
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
    try:
        settings = load_settings(
            args.config, host=args.host, port=args.port, data_dir=args.data_dir, public_url=args.public_url
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format)
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop: the same clean exit as Ctrl-C
    try:
        if args.demo:
            return run_demo(settings, args.demo_ports, args.exit_after_demo)
        return serve(settings, args.threads)
    except OSError as exc:  # typically: the port is taken
        where = f"{settings.host}:{settings.port}" + (
            f" (or the simulators' ports {args.demo_ports})" if args.demo else ""
        )
        print(f"error: cannot listen on {where}: {exc.strerror}", file=sys.stderr)
    except (ConnectorError, KeyMaterialError, MigrationError, ValueError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
    return 2


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(settings: Settings, threads: int) -> int:
    memory.limit_arenas(settings.malloc_arena_max)  # before any server or worker thread starts
    runtime = build_runtime(settings)
    app = ConnectorApp(runtime)
    # Binds now: a taken port fails before the worker starts.
    server = transport.create_server(
        memory.TrimAfterLargeRequests(app, settings.trim_after_bytes),
        settings.host,
        settings.port,
        **transport.server_options(settings, threads),
    )
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
