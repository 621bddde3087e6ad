"""singer's tap-salesforce, unmodified, in a virtual environment of its own (as the peers benchmark keeps
them), against the Salesforce sandbox in REST mode: discovery over describe, a full read paged by
nextRecordsUrl through queryAll, then an incremental read from its own bookmark that brings every record
changed since and the deleted ones (IsDeleted). Only its hard-coded login host is pointed at the sandbox
(a sitecustomize shim); every later call goes to the instance_url the sandbox's token answer names."""
from __future__ import annotations

import json
import os
import secrets
import subprocess

import requests

from console.sandbox.salesforce import OrgConfig, SalesforceSandbox
from tests.bench.peers import ensure_venv
from tests.bench.salesforce_peer import SHIM


def _run(tap: str, args: list[str], env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([tap, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _messages(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_tap_salesforce_discovers_reads_and_resumes_against_the_sandbox(tmp_path):
    tap = str(ensure_venv("tap-salesforce") / "bin" / "tap-salesforce")
    (tmp_path / "shim").mkdir()
    (tmp_path / "shim" / "sitecustomize.py").write_text(SHIM)
    with SalesforceSandbox(OrgConfig(contacts=4_500, seed=12)) as sf:
        org = sf.org
        refresh = f"5Aep{secrets.token_urlsafe(20)}"
        with org.lock:
            org.refresh_tokens[refresh] = org.integration_user
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"client_id": org.client_id, "client_secret": org.client_secret,
                                      "refresh_token": refresh, "start_date": "2000-01-01T00:00:00Z",
                                      "api_type": "REST", "select_fields_by_default": True, "is_sandbox": False}))
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(tmp_path / "shim"), "PEER_SALESFORCE_URL": sf.url}

        catalog = json.loads(_run(tap, ["--config", str(config), "--discover"], env).stdout)
        streams = {s["stream"]: s for s in catalog["streams"]}
        assert {"Contact", "Account", "Lead", "Opportunity"} <= set(streams)
        contact = streams["Contact"]
        assert {"Email", "SystemModstamp", "Connector_Console_Id__c"} <= set(contact["schema"]["properties"])
        top = next(m for m in contact["metadata"] if m["breadcrumb"] == [])
        top["metadata"].update(selected=True, **{"replication-key": "SystemModstamp", "replication-method": "INCREMENTAL"})
        properties = tmp_path / "catalog.json"
        properties.write_text(json.dumps({"streams": [contact]}))

        first = _messages(_run(tap, ["--config", str(config), "--properties", str(properties)], env).stdout)
        read = {m["record"]["Id"] for m in first if m["type"] == "RECORD"}
        assert read == set(org.records["Contact"])  # 4,500: three batches through nextRecordsUrl
        assert org.requests["GET /services/data/vXX.X/queryAll/{locator}"] == 2

        state = tmp_path / "state.json"
        state.write_text(json.dumps([m for m in first if m["type"] == "STATE"][-1]["value"]))
        changed = requests.post(f"{sf.url}/_sandbox/changes", timeout=30,
                                json={"object": "Contact", "update": 40, "delete": 6, "seed": 4}).json()
        again = _messages(_run(tap, ["--config", str(config), "--properties", str(properties), "--state", str(state)],
                               env).stdout)
        records = {m["record"]["Id"]: m["record"] for m in again if m["type"] == "RECORD"}
        assert set(changed["updated"]) <= set(records) and set(changed["deleted"]) <= set(records)
        assert all(records[i]["IsDeleted"] for i in changed["deleted"])
        assert len(records) < 500, json.loads(state.read_text())  # from its bookmark, not the whole org again
