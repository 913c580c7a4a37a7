"""The directory's new fields: a partner's protocol, auth, headers and gateway application, an
organisation's aliases – read from JSON and CSV, kept by the store, written back."""

from __future__ import annotations

import json

import pytest

from connector.exchange.directory import (
    ClientAuth,
    DirectoryFormatError,
    PartnerAuthType,
    Protocol,
    directory_to_json,
    parse_directory,
)

SYSTEMS = {
    "systems": [
        {"system_id": "eoffice-stp", "organ_id": "000.00.31.H31", "kind": "docmgmt", "endpoint": "https://lgsp/stp/soap",
         "auth": {"type": "oauth2", "token_url": "https://lgsp/token", "client_id": "abc", "client_auth": "form"},
         "headers": {"lgspaccesstoken": "${LGSP_TOKEN}"}, "gateway_application": "eOfficeSTP"},
        {"system_id": "eoffice-ubnd", "organ_id": "000.00.00.H31", "kind": "docmgmt", "endpoint": "https://axis/vxp",
         "mode": "push", "protocol": "vxp", "auth": {"type": "vxp-hmac", "system_id": "lienthong.hungyen"}},
    ],
    "organizations": [{"organ_id": "000.00.31.H31", "name": "Sở Tư pháp", "aliases": ["G07.31"]}],
}  # fmt: skip


def test_the_new_fields_are_read_kept_and_written_back(runtime):
    directory = parse_directory(json.dumps(SYSTEMS), "d.json")
    gateway, axis = directory.systems
    assert gateway.auth.type is PartnerAuthType.OAUTH2 and gateway.auth.client_auth is ClientAuth.FORM
    assert gateway.headers == (("lgspaccesstoken", "${LGSP_TOKEN}"),) and gateway.protocol is Protocol.SOAP
    assert axis.protocol is Protocol.VXP and axis.auth.system_id == "lienthong.hungyen"
    runtime.store.import_directory(directory)
    assert runtime.store.system("eoffice-stp") == gateway and runtime.store.system("eoffice-ubnd") == axis
    assert runtime.store.system_for_gateway_application("eOfficeSTP") == gateway
    written = json.loads(directory_to_json(runtime.store.directory()))
    [stp] = [s for s in written["systems"] if s["system_id"] == "eoffice-stp"]
    assert stp["headers"] == {"lgspaccesstoken": "${LGSP_TOKEN}"} and stp["auth"]["client_id"] == "abc"
    again = parse_directory(directory_to_json(runtime.store.directory()), "again.json")
    assert [s for s in again.systems if s.system_id == "eoffice-stp"] == [gateway]


def test_csv_holds_auth_as_json_text():
    text = (
        "system_id,organ_id,kind,endpoint,protocol,auth\n"
        'eoffice-ubnd,000.00.00.H31,docmgmt,https://axis/vxp,vxp,"{""type"": ""vxp-hmac"", ""system_id"": ""x""}"\n'
    )
    [system] = parse_directory(text, "systems.csv").systems
    assert system.auth.system_id == "x" and system.protocol is Protocol.VXP


@pytest.mark.parametrize(
    "auth",
    [{"type": "oauth2", "client_id": "abc"}, {"type": "vxp-hmac"}, {"type": "kerberos"}, {"type": "oauth2", "x": 1}],
)
def test_an_incomplete_auth_is_refused_with_its_record(auth):
    data = {"systems": [SYSTEMS["systems"][0] | {"auth": auth}]}
    with pytest.raises(DirectoryFormatError, match=r"systems\[0\]: auth"):
        parse_directory(json.dumps(data), "d.json")
