"""``directory import`` merges by default, ``--replace`` replaces, ``--dry-run`` only tells;
JSON and CSV alike; an import that gives a partner its endpoint closes its "no endpoint" breaker.

The bug behind it: an import wrote every field of every record it named, so a file with only
``organizations`` (no ``clerk_account``) cleared the clerks, and sends then failed with
``Client.UnknownAccount``."""

from __future__ import annotations

import json
from pathlib import Path

from connector.clock import utcnow
from connector.serving.runtime import SAMPLE_DIRECTORY
from connector.store import BreakerState, Store
from tests.cli.test_edxml_cli import run


def listed(data: str) -> dict:
    result = run("directory", "list", "--json", "--data-dir", data)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def clerks(data: str) -> dict[str, str | None]:
    return {o["organ_id"]: o["clerk_account"] for o in listed(data)["organizations"]}


def full_directory(tmp_path: Path) -> str:
    data = str(tmp_path / "data")
    result = run("directory", "import", str(SAMPLE_DIRECTORY), "--data-dir", data)
    assert result.returncode == 0, result.stderr
    assert clerks(data)["000.00.31.H31"] == "vanthu.stp"
    return data


def test_an_organizations_only_file_keeps_the_clerks_and_the_accounts(tmp_path):
    data = full_directory(tmp_path)
    before = listed(data)
    only = tmp_path / "orgs.json"
    only.write_text(json.dumps({"organizations": [{"organ_id": "000.00.31.H31", "name": "Sở Tư pháp (mới)"}]}))
    result = run("directory", "import", str(only), "--data-dir", data)
    assert result.returncode == 0, result.stderr
    assert "~ organizations 000.00.31.H31: name 'Sở Tư pháp tỉnh Hưng Yên' -> 'Sở Tư pháp (mới)'" in result.stdout
    assert "imported (merge): 0 added, 1 changed, 0 removed" in result.stdout
    after = listed(data)
    assert clerks(data)["000.00.31.H31"] == "vanthu.stp"  # the field the file left out stays
    assert after["accounts"] == before["accounts"] and after["systems"] == before["systems"]


def test_dry_run_prints_the_changes_and_writes_nothing(tmp_path):
    data = full_directory(tmp_path)
    before = listed(data)
    change = tmp_path / "change.json"
    change.write_text(
        json.dumps(
            {
                "organizations": [{"organ_id": "000.00.31.H31", "name": "x", "clerk_account": None}],
                "accounts": [{"username": "new.user", "organ_id": "000.00.31.H31"}],
            }
        )
    )
    for flags, removed in (([], 0), (["--replace"], 1)):
        result = run("directory", "import", str(change), "--dry-run", *flags, "--data-dir", data)
        assert result.returncode == 0, result.stderr
        assert "+ accounts new.user" in result.stdout
        assert "clerk_account 'vanthu.stp' -> -" in result.stdout  # a JSON null clears, in either mode
        assert "would change" in result.stdout
        assert ("- accounts vanthu.stp" in result.stdout) == bool(removed)
        assert listed(data) == before


def test_replace_makes_the_file_the_whole_directory(tmp_path):
    data = full_directory(tmp_path)
    only = tmp_path / "orgs.json"
    only.write_text(json.dumps({"organizations": [{"organ_id": "000.00.31.H31", "name": "Sở Tư pháp"}]}))
    result = run("directory", "import", str(only), "--replace", "--data-dir", data)
    assert result.returncode == 0, result.stderr
    assert "- accounts vanthu.stp" in result.stdout and "imported (replace)" in result.stdout
    after = listed(data)
    assert after["organizations"] == [
        {"organ_id": "000.00.31.H31", "name": "Sở Tư pháp", "clerk_account": None, "aliases": []}
    ]
    assert after["accounts"] == [] and after["systems"] == []


def test_csv_merges_and_replaces_the_same_way(tmp_path):
    data = full_directory(tmp_path)
    csv = tmp_path / "orgs.csv"
    csv.write_text("organ_id,name,clerk_account\n000.00.31.H31,Sở Tư pháp CSV,\n")  # an empty cell names nothing
    assert run("directory", "import", str(csv), "--data-dir", data).returncode == 0
    assert clerks(data)["000.00.31.H31"] == "vanthu.stp"
    assert len(listed(data)["accounts"]) == 6
    dry = run("directory", "import", str(csv), "--replace", "--dry-run", "--data-dir", data)
    assert "- organizations 000.00.13.H31" in dry.stdout and len(listed(data)["organizations"]) == 4
    assert run("directory", "import", str(csv), "--replace", "--data-dir", data).returncode == 0
    assert clerks(data) == {"000.00.31.H31": None}


def test_an_import_giving_a_partner_its_endpoint_closes_the_no_endpoint_breaker(tmp_path):
    data = full_directory(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'data' / 'connector.db'}")
    try:
        store.set_breaker("eoffice-stp", BreakerState.OPEN, utcnow(), "system 'eoffice-stp' has no endpoint")
        assert store.partner_queue("eoffice-stp").breaker is BreakerState.OPEN
    finally:
        store.close()
    moved = tmp_path / "endpoint.json"
    moved.write_text(
        json.dumps(
            {
                "systems": [
                    {
                        "system_id": "eoffice-stp",
                        "organ_id": "000.00.31.H31",
                        "kind": "docmgmt",
                        "endpoint": "http://127.0.0.1:9/soap",
                    }
                ]
            }
        )
    )
    result = run("directory", "import", str(moved), "--data-dir", data)
    assert result.returncode == 0, result.stderr
    stats = run("outbox", "stats", "--json", "--data-dir", data)
    assert stats.returncode == 0, stats.stderr
    store = Store(f"sqlite:///{tmp_path / 'data' / 'connector.db'}")
    try:
        assert store.partner_queue("eoffice-stp").breaker is BreakerState.CLOSED
    finally:
        store.close()
