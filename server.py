"""Run the connector: ``python server.py [--host 127.0.0.1] [--port 8080] [--data-dir DIR] [--config FILE]``.

With no configuration the first run sets up the embedded default in the data directory
(SQLite, development keys, the guide's sample directory). ``--demo`` also starts both partner
simulators and plays the guide's two cases (see README).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import waitress

from connector.config import ConfigError, load_settings
from connector.runtime import build_runtime, build_worker
from connector.soap.app import ConnectorApp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--config", type=Path, help="TOML settings file (docs/operations.md)")
    parser.add_argument("--public-url", help="address written into the WSDL (default http://HOST:PORT)")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.config, host=args.host, port=args.port, data_dir=args.data_dir, public_url=args.public_url)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runtime = build_runtime(settings)
    app = ConnectorApp(runtime)
    worker = build_worker(runtime).start() if settings.delivery.enabled else None

    print(f"connector listening on http://{settings.host}:{settings.port}/soap  (WSDL: {app.public_url}/soap?wsdl)", flush=True)
    try:
        waitress.serve(app, host=settings.host, port=settings.port, threads=args.threads,
                       max_request_body_size=settings.max_request_bytes + 1024 * 1024, ident="edxml-connector")
    finally:
        if worker is not None:
            worker.stop()
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
