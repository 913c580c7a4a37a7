"""Run the connector: ``python server.py [--host 127.0.0.1] [--port 8080] [--data-dir DIR] [--config FILE]``.

With no configuration the first run sets up the embedded default in the data directory
(SQLite, migrated on start; development keys; the guide's sample directory without partner
endpoints). ``--workers N`` serves the port from N processes (``connector/serving/supervisor.py``).
``--demo`` also starts both partner simulators and plays the guide's two cases (the connector's
data in DATA_DIR as without it, the simulators' in DATA_DIR/demo; see README). Ctrl-C (SIGINT) or SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from connector.config import ConfigError, Settings, load_settings
from connector.errors import ConnectorError
from connector.ops.logs import configure_logging
from connector.serving import httpserver
from connector.serving.process import build_process
from connector.serving.runtime import build_runtime
from connector.serving.supervisor import Supervisor, follow_parent, listening_socket
from connector.store import MigrationError
from signing import KeyMaterialError
from simulators.demo import Demo, DemoError, DemoPorts
from simulators.demo_lgsp import LgspDemo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument("--data-dir", type=Path, help="database, development keys (default ./data)")
    parser.add_argument("--config", type=Path, help="TOML settings file (docs/operations.md)")
    parser.add_argument("--public-url", help="address written into the WSDL (default http://HOST:PORT)")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads (per process)")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port (default 1: this process serves)"
    )
    # A --workers child: the parent's listening socket, and which child it is (slot 0 runs the notary).
    parser.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--slot", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--demo", action="store_true", help="also run both partner simulators and play the guide's two cases"
    )
    parser.add_argument(
        "--demo-ports", default="8091,8092", metavar="ONESTOP,DOCMGMT", help="simulator ports for --demo"
    )
    parser.add_argument(
        "--demo-topology",
        choices=("direct", "lgsp"),
        default="direct",
        help="direct: the simulators answer on their URLs; lgsp: eOffice behind a WSO2-like gateway and a third "
        "agency on the national axis (docs/lgsp.md)",
    )
    parser.add_argument("--exit-after-demo", action="store_true", help="stop once the demo has played (for CI)")
    args = parser.parse_args(argv)
    if args.workers < 1 or (args.workers > 1 and args.demo):
        parser.error("--workers must be at least 1, and 1 with --demo")
    try:
        # A child's parent migrated the schema already; the child only checks it.
        migrate = {"auto_migrate": "never"} if args.listen_fd is not None else {}
        settings = load_settings(
            args.config, host=args.host, port=args.port, data_dir=args.data_dir, public_url=args.public_url, **migrate
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format)
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop: the same clean exit as Ctrl-C
    try:
        if args.demo:
            return run_demo(settings, args.demo_ports, args.exit_after_demo, args.demo_topology)
        if args.listen_fd is not None:
            # The parent's SIGTERM, a terminal's Ctrl-C and a service manager may all signal a
            # child: the first starts its clean stop, later ones change nothing (``serve``).
            follow_parent()
            sock = socket.socket(fileno=args.listen_fd)
            return serve(settings, args.threads, sock, notary=args.slot == 0, slot=args.slot)
        if args.workers > 1:
            return supervise(settings, args)
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


def serve(
    settings: Settings, threads: int, sock: socket.socket | None = None, notary: bool = True, slot: int = 0
) -> int:
    """Serve in this process: on ``settings``' address, or on ``sock`` (a ``--workers`` child).
    SIGTERM or SIGINT stops it without hanging clients (``httpserver.serve_until``): the
    listener closes at once, requests in flight finish within ``shutdown_grace``, then the
    delivery threads stop; a partner call in flight is abandoned and its item is reclaimed by
    the next process in the same role – ``server-PORT-SLOT`` on this node – or retried once its
    lease ends."""
    process = build_process(settings)  # before any server or worker thread starts
    options = httpserver.server_options(settings, threads)
    try:
        # Binds now: a taken port fails before the worker starts.
        if sock is None:
            server = httpserver.create_server(
                process.wsgi, settings.host, settings.port, admission=process.app.gate, **options
            )
        else:
            server = httpserver.create_server(process.wsgi, sockets=[sock], admission=process.app.gate, **options)
        process.start_background(delivery=True, notary=notary, role=f"server-{settings.port}-{slot}")
    except BaseException:
        process.close()
        raise
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()
        httpserver.wake(server)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    if sock is None:
        announce(settings, f"connector listening on {_where(settings)}")
    else:
        announce(settings, f"worker process {os.getpid()} serving")
    try:
        httpserver.serve_until(server, stopping, settings.shutdown_grace)
    finally:
        process.close(delivery_wait=1.0)
    return 0


def supervise(settings: Settings, args: argparse.Namespace) -> int:
    """``--workers N``: bind, do the first run's set-up once, then run N children on the socket."""
    sock = listening_socket(settings.host, settings.port)
    build_runtime(settings).close()  # migrations, development keys, the directory's first import

    def command(fd: int, slot: int) -> list[str]:
        given = {
            "--config": args.config,
            "--host": args.host,
            "--port": args.port,
            "--data-dir": args.data_dir,
            "--public-url": args.public_url,
        }
        options = [str(part) for flag, value in given.items() if value is not None for part in (flag, value)]
        child = ["--threads", str(args.threads), "--listen-fd", str(fd), "--slot", str(slot)]
        return [sys.executable, __file__, *options, *child]

    announce(settings, f"connector listening on {_where(settings)} with {args.workers} worker processes")
    return Supervisor(command, args.workers, sock).run()


def announce(settings: Settings, line: str) -> None:
    """A start-up line: printed as it is, or one JSON log line (stderr) with ``log_format = "json"``."""
    if settings.log_format == "json":
        logging.getLogger("connector.server").info(line)
    else:
        print(line, flush=True)


def _where(settings: Settings) -> str:
    public = settings.effective_public_url
    return f"http://{settings.host}:{settings.port}/soap  (WSDL: {public}/soap?wsdl)"


def run_demo(settings: Settings, demo_ports: str, exit_after: bool, topology: str = "direct") -> int:
    onestop, docmgmt = (int(p) for p in demo_ports.split(","))
    logging.getLogger().setLevel(logging.WARNING)  # the demo's own lines tell the story
    ports = DemoPorts(settings.port, onestop, docmgmt)
    say = lambda line: print(line, flush=True)  # noqa: E731
    demo = LgspDemo(settings, ports, say) if topology == "lgsp" else Demo(settings, ports, say)
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
