"""``python server.py --demo --demo-topology lgsp``: the guide's case in the real provincial
topology (docs/lgsp.md, docs/national-axis.md).

- The document-management system of Sở Tư pháp is published through the provincial integration
  platform: the connector calls it through the gateway simulator (WSO2-like) with an OAuth2
  token fetched with its client credentials; and the gateway vouches for eOffice in a signed
  ``X-JWT-Assertion`` when eOffice calls the connector through it.
- UBND tỉnh (000.00.00.H31) is reached through the national document axis simulator: the
  connector sends the dossier's document with ``sendEdoc``; the agency's statuses and its issued
  result come back through the axis and the connector's poller, and reach the one-stop system.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime

import requests
import zeep
from zeep.transports import Transport

from connector.auth.admin import CredentialAdmin
from connector.config import GatewayAuthSettings, Settings
from connector.delivery.axis_poller import AxisPoller
from connector.delivery.protocols import PartnerSecrets
from connector.delivery.vxp import AxisClient
from connector.edxml import Organization, ResponseFor, StatusCode
from connector.exchange.directory import DeliveryMode, Directory, PartnerAuth, PartnerAuthType, Protocol
from simulators import guide, packages
from simulators.axis import AxisConfig, AxisSimulator, AxisSystem
from simulators.demo import DOCMGMT_SYSTEM, Demo, DemoPorts, wait_for
from simulators.gateway import GatewayClient, GatewayConfig, GatewaySimulator
from simulators.httpserver import BackgroundServer
from simulators.onestop import Dossier, guide_files

GATEWAY_APP = GatewayClient("lienthong-hungyen", "demo-client-secret-not-for-production", "LienThongHungYen")
EOFFICE_APP = GatewayClient("eoffice-stp-app", "demo-eoffice-secret-not-for-production", "eOfficeSTP")
UBND = Organization("000.00.00.H31", "UBND tỉnh Hưng Yên")
UBND_SYSTEM = "eoffice-ubnd"  # in the sample directory a pull system; here reached through the axis
AXIS_CONNECTOR = AxisSystem("lienthong.hungyen", "demo-axis-key-of-the-connector", (guide.ONESTOP.organ_id,))
AXIS_UBND = AxisSystem("vxp.ubnd.hungyen", "demo-axis-key-of-ubnd", (UBND.organ_id,))


class LgspDemo:
    def __init__(self, settings: Settings, ports: DemoPorts, say: Callable[[str], None] = print) -> None:
        self.say = say
        # The gateway exists before the connector: the connector reads its public key at start.
        self.gateway = GatewaySimulator(GatewayConfig("http://unset", [GATEWAY_APP, EOFFICE_APP], token_ttl=300))
        root = settings.data_dir / "demo"
        root.mkdir(parents=True, exist_ok=True)
        jwks = root / "gateway-jwks.json"
        jwks.write_text(json.dumps(self.gateway.jwks()), encoding="utf-8")
        gateway_auth = GatewayAuthSettings(trusted_proxies=("127.0.0.1",), jwks_file=jwks.resolve())
        settings = dataclasses.replace(settings, auth=dataclasses.replace(settings.auth, gateway=gateway_auth))
        self.demo = Demo(settings, ports, say)
        runtime = self.demo.runtime
        self.gateway.config.upstream = self.demo.docmgmt_server.url
        self.gateway.config.routes["/connector"] = runtime.settings.effective_public_url  # the connector's API
        self.gateway_server = BackgroundServer(self.gateway, host=settings.host, threads=8).start()
        self.axis = AxisSimulator(AxisConfig([AXIS_CONNECTOR, AXIS_UBND]))
        self.axis_server = BackgroundServer(self.axis, host=settings.host, threads=4).start()

        store = runtime.store
        gw = self.gateway_server.url
        eoffice = dataclasses.replace(
            store.system(DOCMGMT_SYSTEM),
            endpoint=f"{gw}/soap",
            auth=PartnerAuth(PartnerAuthType.OAUTH2, token_url=f"{gw}/token", client_id=GATEWAY_APP.client_id),
            headers=(("X-SystemId", "lienthong-hungyen"),),
            gateway_application=EOFFICE_APP.application,
        )
        ubnd = dataclasses.replace(
            store.system(UBND_SYSTEM),
            endpoint=self.axis_server.url,
            mode=DeliveryMode.PUSH,
            protocol=Protocol.VXP,
            auth=PartnerAuth(PartnerAuthType.VXP_HMAC, system_id=AXIS_CONNECTOR.system_id),
        )
        store.import_directory(Directory(systems=[eoffice, ubnd]))
        admin = CredentialAdmin(store, runtime.authenticator.box)
        admin.set_partner_secret(DOCMGMT_SYSTEM, GATEWAY_APP.client_secret)
        admin.set_partner_secret(UBND_SYSTEM, AXIS_CONNECTOR.secret)
        self.poller = AxisPoller(runtime.service, PartnerSecrets(store, runtime.authenticator.box), interval=1.0)
        self.poller.start()

    def urls(self) -> list[str]:
        return [
            *self.demo.urls(),
            f"gateway (LGSP):           {self.gateway_server.url}/token, /jwks"
            f"; API calls to {self.demo.docmgmt_server.url}",
            f"national axis:            {self.axis_server.url}/getReceivedEdocList ...",
        ]

    def play(self) -> None:
        self.say("edXML connector demo in the provincial topology: through the LGSP gateway, onto the national axis")
        for line in self.urls():
            self.say("  " + line)
        self.demo.case(
            "Case 1 – Văn bản đến to Sở Tư pháp, whose eOffice is published at the LGSP gateway",
            3,
            "INCOMING",
            "cbtiepnhan",
            "22/CV_LT_MOTCUA",
        )
        stats = self.gateway.stats
        self.demo.step(
            f"through the gateway: {stats['tokens']} OAuth2 token(s) fetched, {stats['forwarded']} call(s) "
            f"forwarded with X-JWT-Assertion, {stats['401']} refused"
        )
        self.vouched()
        self.axis_case()
        self.say("demo complete")

    def vouched(self) -> None:
        """eOffice calls the connector through the gateway: no UsernameToken, the gateway's JWT."""
        token = requests.post(
            f"{self.gateway_server.url}/token",
            data={"grant_type": "client_credentials"},
            auth=(EOFFICE_APP.client_id, EOFFICE_APP.client_secret),
            timeout=10,
        ).json()["access_token"]
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {token}"
        published = f"{self.gateway_server.url}/connector/soap"  # the connector's API at the gateway
        transport = Transport(session=session, timeout=10, operation_timeout=30)
        client = zeep.Client(f"{published}?wsdl", transport=transport)
        service = client.create_service("{urn:vn:lienthong:connector:1}ConnectorPort", published)
        view = service.getStatus(dossierCode=guide.DOSSIER_CODE)
        self.demo.step(
            f"eOffice through the gateway: authenticated by the gateway's assertion as {DOCMGMT_SYSTEM}; "
            f"getStatus says {view.state}"
        )

    def axis_case(self) -> None:
        self.say("Case 2 – a dossier for UBND tỉnh, reached through the national document axis")
        dossier = Dossier(
            code="Bo_Thu_Tuc_Cap_Tinh-221126-0001",
            onestop_number="1948100",
            procedure_code="XD_2021_10",
            procedure_name="Cấp giấy phép xây dựng",
            applicant="Trần Văn Bình",
            agency=UBND,
            received_at=guide.RECEIVED_AT,
            due_date=date(2022, 12, 10),
        )
        sent = self.demo.onestop.send_dossier(dossier, "INCOMING", "vanthu.ubnd", guide_files())
        self.demo.step(f"sent: dossier {dossier.code} for {UBND.organ_id}, routed to {UBND_SYSTEM} (protocol vxp)")
        agency = AxisClient(self.axis_server.url, AXIS_UBND.system_id, AXIS_UBND.secret)
        [edoc] = wait_for("the document in UBND's inbox on the axis", lambda: agency.received())
        data = agency.get_edoc(edoc.doc_id)
        agency.update_status(edoc.doc_id, "done")
        self.demo.step(f"on the axis: sendEdoc {edoc.doc_id} ({len(data):,} bytes, signed edXML) fetched by UBND, done")
        answers = ResponseFor(guide.ONESTOP.organ_id, str(guide.SEND_CODE), guide.RECEIVED_AT.date(), sent.document_id)
        identity = self.demo.runtime.dev_keys.identity(UBND.organ_id)
        for code in (StatusCode.ARRIVED, StatusCode.ACCEPTED):
            status = packages.status_package(UBND, answers, code, datetime.now())
            agency.send_edoc(guide.ONESTOP.organ_id, "status", packages.signed(status, identity))
            state = {StatusCode.ARRIVED: "arrived", StatusCode.ACCEPTED: "registered"}[code]
            wait_for(f"status {code.value} polled", lambda s=state: self._state(sent.message_id) == s)
            self.demo.step(f"status {code.value} from UBND over the axis: polled, stored, acknowledged done")
        issued = packages.Issued("15/GPXD", date(2022, 12, 1), "Nguyễn Văn Cường", "Phó Chủ tịch", "Hưng Yên")
        file = packages.File("15_GPXD.pdf", guide.result_pdf(), description="Giấy phép xây dựng")
        result = packages.result_package(
            UBND, guide.ONESTOP, answers, issued, dossier.code, [file], datetime.now(), f"ubnd-{uuid.uuid4()}"
        )
        agency.send_edoc(guide.ONESTOP.organ_id, "edoc", packages.signed(result, identity))
        wait_for("the result polled", lambda: self._state(sent.message_id) == "finished")
        self.demo.step("result 15/GPXD from UBND over the axis: polled, publishResult accepted, exchange finished")
        view = wait_for(
            "the result file in the one-stop dossier",
            lambda: (v := self.demo.onestop.dossier(dossier.code)).result_files and v,
        )
        self.demo.step(f"result file in the dossier: {view.result_files[0].name} – dossier {view.code} is {view.state}")

    def _state(self, message_id: str) -> str | None:
        exchange = self.demo.runtime.store.exchange(message_id)
        return str(exchange.state) if exchange else None

    def close(self) -> None:
        self.poller.stop()
        for server in (self.gateway_server, self.axis_server):
            server.stop()
        self.demo.close()
