"""Reference partner systems for demos and tests: a document-management system
(``DocMgmtSimulator``, an agency's eOffice) and a one-stop system (``OnestopSimulator``, iGate).

Each serves its partner contract (``simulators.partner_service``) over SOAP, keeps its own SQLite
database, shows its screens as data, and calls the connector back with zeep, signing what it
sends with its organisation's development key. Modules: ``docmgmt`` and ``onestop`` (the two
systems), ``packages`` (the edXML they send), ``link`` (their recorded, ordered calls to the
connector), ``trust`` (keys and verification), ``http`` (the WSGI face), ``runner`` (serving),
``autopilot`` (the agency's staff, automated), ``guide`` (the provincial guide's scenario), ``demo``
(``server.py --demo``) and ``cli`` (``python -m simulators ...``).

Tooling, not product: nothing in ``connector`` or ``signing`` imports this package.
"""

from simulators.autopilot import Autopilot
from simulators.docmgmt import DocMgmtConfig, DocMgmtSimulator, DocState
from simulators.errors import ActionRefused
from simulators.link import CallOutcome, ConnectorCall, ConnectorEndpoint
from simulators.onestop import Dossier, DossierFile, OnestopConfig, OnestopSimulator
from simulators.runner import start_in_background

__all__ = [
    "ActionRefused",
    "Autopilot",
    "CallOutcome",
    "ConnectorCall",
    "ConnectorEndpoint",
    "DocMgmtConfig",
    "DocMgmtSimulator",
    "DocState",
    "Dossier",
    "DossierFile",
    "OnestopConfig",
    "OnestopSimulator",
    "start_in_background",
]
