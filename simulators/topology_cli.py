"""``python -m simulators gateway|axis``: the provincial topology's simulators (an LGSP/NGSP
gateway, the national document axis), beside the partner systems' (``cli.py``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import waitress

from simulators.axis import AxisConfig, AxisSimulator, parse_system
from simulators.gateway import GatewayConfig, GatewaySimulator, parse_client, write_keys


def add_commands(systems: argparse._SubParsersAction) -> None:
    gateway = systems.add_parser("gateway", help="simulate a WSO2-like API gateway (LGSP/NGSP) in front of a partner")
    gateway.add_argument("--port", type=int, default=8280, help="default %(default)s (WSO2's HTTP port)")
    gateway.add_argument("--host", default="127.0.0.1")
    gateway.add_argument("--upstream", required=True, metavar="URL", help="the published system's base URL")
    gateway.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="ID:SECRET:APPLICATION",
        help="a registered application (repeatable): its OAuth2 client id and secret, and its name",
    )
    gateway.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="PREFIX=URL",
        help="another published API (repeatable): calls under PREFIX go to URL, the prefix removed",
    )
    gateway.add_argument("--token-ttl", type=float, default=3600.0, metavar="SECONDS", help="default %(default)s")
    gateway.add_argument("--throttle", type=int, default=0, metavar="N", help="answer every Nth call with 429")
    gateway.add_argument("--throttle-code", type=int, default=900802, help="the WSO2 code of a 429 (900800-900807)")
    gateway.add_argument("--retry-after", type=int, metavar="SECONDS", help="send Retry-After with a 429")
    gateway.add_argument("--jwt-header", default="X-JWT-Assertion")
    gateway.add_argument("--jwks-out", type=Path, metavar="FILE", help="write the gateway's public key as a JWKS")
    gateway.add_argument("--public-key-out", type=Path, metavar="FILE", help="... or as a PEM public key")
    gateway.set_defaults(run=_run_gateway)
    axis = systems.add_parser("axis", help="simulate the national document axis (VXP: sendEdoc, getEdoc, ...)")
    axis.add_argument("--port", type=int, default=8290, help="default %(default)s")
    axis.add_argument("--host", default="127.0.0.1")
    axis.add_argument(
        "--system",
        action="append",
        default=[],
        metavar="ID:SECRET:AGENCY[;AGENCY...]",
        help="a registered system (repeatable): its id, HMAC key and the agency codes it receives for",
    )
    axis.add_argument("--max-skew", type=float, default=300.0, metavar="SECONDS", help="timestamp tolerance")
    axis.set_defaults(run=_run_axis)


def _run_axis(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        systems = [parse_system(s) for s in args.system]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    simulator = AxisSimulator(AxisConfig(systems, args.max_skew))
    print(
        f"national axis on http://{args.host}:{args.port}: systems {', '.join(s.system_id for s in systems) or 'none'}",
        file=sys.stderr,
    )
    waitress.serve(simulator, host=args.host, port=args.port, ident="vxp-axis-simulator", threads=8)
    return 0


def _run_gateway(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        clients = [parse_client(c) for c in args.client]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    simulator = GatewaySimulator(
        GatewayConfig(
            args.upstream,
            clients,
            token_ttl=args.token_ttl,
            throttle_every=args.throttle,
            throttle_code=args.throttle_code,
            retry_after=args.retry_after,
            jwt_header=args.jwt_header,
            routes=dict(r.split("=", 1) for r in args.route if "=" in r),
        )
    )
    write_keys(simulator, args.jwks_out, args.public_key_out)
    print(
        f"gateway on http://{args.host}:{args.port}: token endpoint /token, JWKS /jwks, API calls to {args.upstream}; "
        f"applications: {', '.join(c.application for c in clients) or 'none'}",
        file=sys.stderr,
    )
    waitress.serve(simulator, host=args.host, port=args.port, ident="lgsp-gateway-simulator", threads=8)
    return 0
