"""No 500 anywhere: every route in the URL map, as every role, with ids of 0, -1, 2^63 and words, real ids
of real objects, hostile query parameters and hostile form fields. The test fails listing every route
that answered 500 (with what was sent), so a new route is covered the day it is added."""
from __future__ import annotations

import itertools
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from console.extensions import db
from console.models import CsvImport, EventWebhookEvent, IntegrationSyncError, MonitorAlert, ReportNote, User
from console.models.base import utcnow

from .. import factories
from ..conftest import sign_in
from ..reporting import synced_connection

BAD_IDS = ["0", "-1", str(2**63), str(2**63 - 1), str(2**31), "abc", "1.5"]
BAD_WORDS = ["x" * 300, "<script>alert(1)</script>", "..", "%00", "²", "contacts%0d%0aSet-Cookie:x=1"]
HOSTILE = ["", "0", "-1", "9" * 40, "abc", "\x00", "<script>alert(1)</script>", "' OR 1=1 --", "²", "１２",
           "../../etc/passwd", "\r\nSet-Cookie: x=1", "{{7*7}}", "NaN", "1e309", "A" * 5000, "@", "y"]
FIELDS = ("name", "email", "password", "role", "client_id", "owner_id", "provider_id", "environment", "auth_type",
          "scopes", "docs_url", "revocation_path", "portal_id", "base_url", "oauth_client_id", "token",
          "client_secret", "webhook_secret", "app_id", "contacts", "contacts_minutes", "companies",
          "companies_minutes", "deals", "deals_minutes", "webhook_events", "source", "transform", "required",
          "sensitive", "size", "object_type", "reason", "note", "target", "channel", "visible", "visibility_note",
          "failure_path", "manual_fallback", "stale_multiple", "pressure_pct", "failed_webhooks", "duplicate_events",
          "freshness_target", "freshness_objective", "completeness", "duplicate_records", "unresolved",
          "explanation", "next_action", "id_column", "template_name", "repair", "ids", "current", "new", "confirm",
          "period", "text", "body", "title", "metric_key", "value", "status", "action", "since", "until", "remember")
QUERY = {"page": "9" * 30, "since_hours": "99999999999", "connection_id": str(2**63), "before_id": "-1",
         "client_id": "abc", "owner_id": "1e9", "status": "\x00<x>", "kind": "'", "type": "../", "object_type": "x" * 500,
         "stage": "²", "action": "%", "mine": "1", "next": "/\r\nSet-Cookie:x=1", "oauth": "connected", "q": "%ff%fe"}


@pytest.fixture
def world(app, sandbox):
    owner = factories.user("owner")
    client_obj = factories.client("Harbour Physio")
    conn, runs = synced_connection(sandbox, client_obj, owner=owner)
    conn.status = "live"
    now = utcnow()
    db.session.add(EventWebhookEvent(provider="hubspot", source_event_id="4242:62515:1", connection_id=conn.id,
                                     event_type="contact.propertyChange", status="dead_letter", attempts=5,
                                     duplicate_count=0, payload_summary={}, raw_payload={}, created_at=now))
    db.session.add(MonitorAlert(connection_id=conn.id, kind="stale_sync:deals", open_key=f"{conn.id}:stale",
                                severity="warning", status="open", message="m", opened_at=now, last_seen_at=now))
    db.session.add(CsvImport(connection_id=conn.id, object_type="contacts", file_name="a.csv", file_hash="f" * 64,
                             size_bytes=10, encoding="utf-8", delimiter=",", header=["Record ID", "Email"],
                             row_count=1, status="uploaded"))
    other = factories.user("ops")
    db.session.commit()

    def first(model) -> int:
        return db.session.scalar(sa.select(sa.func.min(model.id))) or 1

    ids = {"connection_id": conn.id, "client_id": client_obj.id, "run_id": runs["contacts"].id,
           "error_id": first(IntegrationSyncError), "event_id": first(EventWebhookEvent),
           "alert_id": first(MonitorAlert), "import_id": first(CsvImport), "note_id": first(ReportNote),
           "user_id": other.id}
    return {"owner": owner, "client": client_obj, "conn": conn, "ids": ids}


def _paths(app: Flask, rule, ids: dict) -> list[str]:
    """The rule filled with real ids and words, then with each hostile value in one slot at a time."""
    real = {a: str(ids.get(a, 1)) if a.endswith("_id") else {"object_type": "contacts", "step": "access",
            "name": "email", "field": "hs_lead_status", "key": "deal_stage", "metric_key": "deal_stage",
            "action": "ignore", "filename": "css/console.css"}.get(a, "x") for a in rule.arguments}
    variants = [real]
    for arg in rule.arguments:
        for bad in (BAD_IDS if arg.endswith("_id") else BAD_WORDS):
            variants.append({**real, arg: bad})
    out = []
    for values in variants:
        path = rule.rule
        for arg, value in values.items():
            path = re.sub(rf"<(?:[a-z_]+(?:\([^)]*\))?:)?{arg}>", value, path)
        out.append(path)
    return out


def test_no_route_answers_500_to_any_role_or_input(app, world):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer 500 as production would, so every failure is listed
    logins = {None: None}
    for role in ("admin", "ops", "client"):
        user = factories.user(role, client=world["client"] if role == "client" else None)
        db.session.commit()
        logins[role] = (user.email, factories.PASSWORD)
    logins["owner"] = (world["owner"].email, factories.PASSWORD)
    errors: list[str] = []
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in ("auth.logout", "static")]
    hostile = itertools.cycle(HOSTILE)
    for role, creds in logins.items():
        http = app.test_client()
        if creds:
            assert sign_in(http, *creds).status_code == 303, role
        token_page = http.get("/login" if creds is None else "/account/password").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', token_page).group(1)
        for rule in rules:
            for path in _paths(app, rule, world["ids"]):
                if "GET" in rule.methods:
                    for query in (None, QUERY):
                        resp = http.get(path, query_string=query)
                        if resp.status_code >= 500:
                            errors.append(f"{role} GET {path} {'with hostile query' if query else ''}: {resp.status_code}")
                if "POST" in rule.methods:
                    for headers in ({}, {"HX-Request": "true", "X-CSRFToken": token}):
                        data = {f: next(hostile) for f in FIELDS}
                        data["csrf_token"] = token
                        resp = http.post(path, data=data, headers=headers)
                        if resp.status_code >= 500:
                            sample = {k: v[:20] for k, v in data.items() if k in ("name", "email", "object_type")}
                            errors.append(f"{role} POST {path}: {resp.status_code} ({sample})")
        db.session.rollback()
    assert not errors, f"{len(errors)} requests answered 500:\n" + "\n".join(sorted(set(errors))[:80])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) >= 5
