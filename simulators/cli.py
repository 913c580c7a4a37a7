"""``python -m simulators docmgmt|onestop|gateway|axis``: run one simulator alone, in the foreground.

The defaults match the sample directory (``connector/data/sample-directory.json``): the connector on
:8080 pushes to the one-stop simulator on :8091 and the document-management simulator on :8092,
and both simulators sign with the development keys the connector creates in ``data/keys``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from connector.edxml import Organization
from connector.exchange.directory import DirectoryFormatError, parse_directory
from connector.serving.runtime import SAMPLE_DIRECTORY
from signing import KeyMaterialError
from simulators.autopilot import Autopilot
from simulators.docmgmt import DocMgmtConfig, DocMgmtSimulator, accounts_from_directory
from simulators.link import ConnectorEndpoint
from simulators.onestop import OnestopConfig, OnestopSimulator
from simulators.runner import serve_forever
from simulators.topology_cli import add_commands as add_topology_commands

EXIT_USAGE = 2
SYSTEMS = {
    # name: (default port, default OrganId, default system id, what it is)
    "docmgmt": (8092, "000.00.31.H31", "eoffice-stp", "an agency's document-management system (QLVB, e.g. eOffice)"),
    "onestop": (8091, "000.00.13.H31", "igate-hungyen", "the one-stop system (một cửa, e.g. iGate)"),
}
PASSWORD_ENV = "SIM_CONNECTOR_PASSWORD"


def parser() -> argparse.ArgumentParser:
    """``python -m simulators``' arguments: one sub-command per simulated system."""
    top = argparse.ArgumentParser(prog="python -m simulators", description="run a partner-system simulator")
    systems = top.add_subparsers(dest="system", required=True)
    for name, (port, organ_id, system_id, what) in SYSTEMS.items():
        parser = systems.add_parser(name, help=f"simulate {what}")
        parser.add_argument("--port", type=int, default=port, help=f"default {port}")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--public-url", help="the address written into the served WSDL (default http://HOST:PORT)")
        parser.add_argument(
            "--connector",
            default="http://127.0.0.1:8080",
            metavar="URL",
            help="the connector's base URL; its WSDL is URL/soap?wsdl (default %(default)s)",
        )
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=Path("data") / f"sim-{name}",
            metavar="DIR",
            help="where the simulator keeps its SQLite database (default %(default)s)",
        )
        parser.add_argument(
            "--keys-dir",
            type=Path,
            default=Path("data") / "keys",
            metavar="DIR",
            help="the development key set shared with the connector (default %(default)s)",
        )
        parser.add_argument("--organ-id", default=organ_id, help="the organisation it plays (default %(default)s)")
        parser.add_argument(
            "--system-id",
            default=system_id,
            help=f"its system id at the connector (default %(default)s); the password is read from ${PASSWORD_ENV} "
            "(set it with: python -m connector credentials set ID --password-stdin)",
        )
        parser.add_argument(
            "--directory",
            type=Path,
            default=SAMPLE_DIRECTORY,
            metavar="FILE",
            help="organisation names and accounts (default: the connector's sample directory)",
        )
        if name == "docmgmt":
            parser.add_argument(
                "--autopilot",
                type=float,
                metavar="SECONDS",
                help="act as clerk, specialist and leader: move every document one step "
                "(register, assign, draft, sign, issue) every SECONDS",
            )
        parser.set_defaults(run=_run_docmgmt if name == "docmgmt" else _run_onestop)
    add_topology_commands(systems)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130


def _organization(args: argparse.Namespace) -> Organization:
    directory = parse_directory(args.directory.read_text(encoding="utf-8"), args.directory.name)
    names = {o.organ_id: o.name for o in directory.organizations}
    return Organization(args.organ_id, names.get(args.organ_id))


def _run_docmgmt(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        organization = _organization(args)
        config = DocMgmtConfig(
            db_path=args.data_dir / "docmgmt.db",
            organ_id=args.organ_id,
            keys_dir=args.keys_dir,
            connector=_endpoint(args),
            accounts=accounts_from_directory(args.directory, args.organ_id),
            organ_name=organization.organ_name or "",
        )
        simulator = DocMgmtSimulator(config)
    except (OSError, DirectoryFormatError, KeyMaterialError) as exc:
        return _error(exc)
    if not config.accounts:
        return _error(f"{args.directory} has no accounts for {args.organ_id}: every delivery would be rejected")
    autopilot = None
    if args.autopilot:
        autopilot = Autopilot(simulator, args.autopilot).start()
    _announce(
        "document-management",
        args,
        f"accounts: {', '.join(a.username for a in config.accounts)}"
        + (f"; autopilot every {args.autopilot:g} s" if autopilot else ""),
    )
    try:
        serve_forever(simulator, args.host, args.port, args.public_url)
    finally:
        if autopilot:
            autopilot.stop()
        simulator.close()
    return 0


def _run_onestop(args: argparse.Namespace) -> int:
    try:
        config = OnestopConfig(
            db_path=args.data_dir / "onestop.db",
            organization=_organization(args),
            keys_dir=args.keys_dir,
            connector=_endpoint(args),
        )
        simulator = OnestopSimulator(config)
    except (OSError, DirectoryFormatError, KeyMaterialError) as exc:
        return _error(exc)
    _announce("one-stop", args, "")
    try:
        serve_forever(simulator, args.host, args.port, args.public_url)
    finally:
        simulator.close()
    return 0


def _endpoint(args: argparse.Namespace) -> ConnectorEndpoint:
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        print(f"warning: ${PASSWORD_ENV} is not set: the connector will refuse this simulator's calls", file=sys.stderr)
    return ConnectorEndpoint.at(args.connector, args.system_id, password)


def _announce(what: str, args: argparse.Namespace, extra: str) -> None:
    url = (args.public_url or f"http://{args.host}:{args.port}").rstrip("/")
    print(
        f"{what} simulator for {args.organ_id}: SOAP {url}/soap, WSDL {url}/soap?wsdl, screens {url}/; "
        f"connector {args.connector}; data {args.data_dir}" + (f"; {extra}" if extra else ""),
        file=sys.stderr,
    )


def _error(problem: object) -> int:
    print(f"error: {problem}", file=sys.stderr)
    return EXIT_USAGE
