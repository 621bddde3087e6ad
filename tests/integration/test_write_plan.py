"""The page writer's compiled write plan (console/sync/inbound/plan.py) stores exactly what the row-dict path
stored before it: the same provider records, mapped through a rule of every transform, written once by the
page writer and once as row dicts through SQLAlchemy's own executemany (its bind processing, its defaults),
compared as the driver hands the rows back — on SQLite, and on MariaDB in CI."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from console.connectors.base import Page, Reference, SourceRecord
from console.extensions import db
from console.mapping.mapper import FieldRule, MappingSpec, map_record
from console.mapping.transforms import ALL_TRANSFORMS
from console.models import CrmLead, CrmLeadEvent, IntegrationNormalizedEvent, IntegrationRawEvent
from console.models.base import table
from console.sync.inbound import pipeline
from console.sync.inbound.decision import changes, lead_values, ms_to_dt
from console.sync.inbound.runner import ensure_job, start_run
from console.sync.runs.accounting import Tally
from console.sync.runs.page_commit import PageCommit

from .. import factories

WHEN = datetime(2026, 3, 1, 12, 30, 45, 123456)
RULES = [
    FieldRule("email", "email", "email", required=True),
    FieldRule("firstname", "first_name", "trim"),
    FieldRule("lastname", "last_name", "case", {"case": "title"}),
    FieldRule("phone", "phone", "phone_e164", {"region": "CA"}, sensitive=True),
    FieldRule("company", "company_name", "concat", {"fields": ["company", "city"], "separator": " · "}),
    FieldRule("website", "domain", "split", {"separator": "/", "index": 2}),
    FieldRule("lifecyclestage", "lifecycle_stage", "enum"),
    FieldRule("hs_lead_status", "lead_status", "option", {"options": {"new": "NEW", "open": "OPEN"}}),
    FieldRule("hubspot_owner_id", "owner_external_id", "none"),
    FieldRule("hubspot_owner_id", "owner_name", "owner_name"),
    FieldRule("pipeline", "pipeline", "pipeline_label"),
    FieldRule("dealstage", "deal_stage", "stage_label"),
    FieldRule("dealstage", "deal_state", "stage_state"),
    FieldRule("amount", "amount", "decimal"),
    FieldRule("deal_currency_code", "currency", "case", {"case": "upper"}),
    FieldRule("amount", "amount_base", "currency_convert",
              {"currency_field": "deal_currency_code", "base": "CAD", "rates": {"CAD": 1, "USD": "1.3517"}}),
    FieldRule("dealname", "deal_name", "trim"),
    FieldRule("notes_next_activity_date", "next_activity_at", "datetime_utc"),
    FieldRule("createdate", "provider_created_at", "datetime_utc"),
]


def spec() -> MappingSpec:
    return MappingSpec("deals", RULES, {("lifecyclestage", "lead"): ("lead", False), ("lifecyclestage", "x"): (None, True)},
                       Reference(owners={"7": "Zoë Ng"}, pipelines={"default": "Sales"},
                                 stages={"s1": "Won — “big”"}, stage_states={"s1": "won"}))


def records() -> list[SourceRecord]:
    """Values that reach every bind: non-ASCII text, NULLs, decimals, whole-second and fractional times."""
    out = []
    for i in range(6):
        props = {"email": f" Ana{i}@Example.COM ", "firstname": "  Zoë   " if i % 2 else None,
                 "lastname": "o'neil", "phone": f"(415) 555-01{i:02d}", "company": "Acme" if i % 3 else "",
                 "city": "Montréal", "website": f"https://acme{i}.example/x", "lifecyclestage": "lead" if i % 2 else "x",
                 "hs_lead_status": "New" if i % 2 else None, "hubspot_owner_id": "7" if i != 3 else None,
                 "pipeline": "default", "dealstage": "s1", "amount": f"{1234.5 * i:.2f}" if i % 3 else None,
                 "deal_currency_code": "usd" if i % 2 else "cad", "dealname": f"Deal {i}",
                 "notes_next_activity_date": "2026-04-01T09:00:00Z" if i % 2 else str(1_772_000_000_000 + i),
                 "createdate": "2025-01-01T00:00:00.5Z", "unmapped": {"nested": [1, None, "ü"]}}
        out.append(SourceRecord(f"{900 + i}", props, 1_772_000_000_000 + i * 1001))
    return out


def row_dict_way(conn, run_id: int, mapping: MappingSpec) -> None:
    """What the page writer stored before the plan: row dicts, SQLAlchemy's executemany."""
    leads = []
    for rec in records():
        mapped = map_record(rec, mapping)
        mapped.values["provider_updated_at"] = ms_to_dt(rec.updated_ms)
        assert not mapped.failures, mapped.failures
        leads.append({"client_id": conn.client_id, "connection_id": conn.id, "object_type": "deals",
                      "external_id": rec.external_id, "source_label": "HubSpot CRM",
                      "content_hash": mapped.content_hash(), **lead_values(mapped), "created_at": WHEN, "updated_at": WHEN})
    db.session.execute(sa.insert(table(CrmLead)), leads)
    ids = dict(db.session.execute(sa.select(CrmLead.external_id, CrmLead.id).where(
        CrmLead.connection_id == conn.id)).all())
    db.session.execute(sa.insert(table(CrmLeadEvent)), [
        {"lead_id": ids[r.external_id], "connection_id": conn.id, "run_id": run_id, "kind": "created", "field": None,
         "old_value": None, "new_value": None, "occurred_at": ms_to_dt(r.updated_ms), "created_at": WHEN}
        for r in records()])
    db.session.commit()
    with db.engines["traffic"].begin() as traffic:
        for rec in records():
            key = f"{rec.external_id}:{rec.updated_ms}:l"
            payload = {k: v for k, v in rec.properties.items() if k != "phone"}
            traffic.execute(sa.insert(table(IntegrationRawEvent)), [{
                "connection_id": conn.id, "run_id": run_id, "object_type": "deals", "external_id": rec.external_id,
                "event_key": key, "created_at": WHEN, "payload": payload, "provider_updated_at": ms_to_dt(rec.updated_ms)}])
            traffic.execute(sa.insert(table(IntegrationNormalizedEvent)), [{
                "connection_id": conn.id, "source_kind": "sync", "source_ref": key, "object_type": "deals",
                "external_id": rec.external_id, "lead_id": None, "created_at": WHEN, "event_type": "created",
                "summary": {"changed": []}, "occurred_at": ms_to_dt(rec.updated_ms), "lag_ms": None}])


def stored(engine_key: str | None, sql: str, connection_id: int, leave_out: set[str]) -> list[tuple]:
    with db.engines[engine_key].connect() as conn:
        result = conn.exec_driver_sql(sql)
        names = list(result.keys())
        keep = [i for i, n in enumerate(names) if n not in leave_out]
        rows = [r for r in result if r[names.index("connection_id")] == connection_id]
    return [tuple(r[i] for i in keep) for r in rows]


def test_the_plan_stores_what_sqlalchemy_stores_for_every_transform(app, monkeypatch):
    used = {r.transform for r in RULES}
    assert used == set(ALL_TRANSFORMS), set(ALL_TRANSFORMS) - used  # a transform added later joins this test
    ours = factories.hubspot_connection("http://127.0.0.1:9", "pat-x")
    theirs = factories.hubspot_connection("http://127.0.0.1:9", "pat-y")
    job = ensure_job(ours, "deals")
    db.session.commit()
    run = start_run(job, "manual")
    tally = Tally()
    monkeypatch.setattr(pipeline, "utcnow", lambda: WHEN)  # both ways write the same write time
    mapping = spec()
    writer = pipeline.PageWriter(ours, "deals", mapping, run, "HubSpot CRM", None, False, tally, PageCommit(run, tally))
    decisions = writer.apply(Page(records(), {}), None)
    assert [d.bucket for d in decisions] == ["created"] * 6 and not any(changes(d) for d in decisions)
    row_dict_way(theirs, run.id, mapping)

    lead_sql = "SELECT * FROM crm_leads ORDER BY external_id"
    plain = {"id", "connection_id", "client_id"}
    assert stored(None, lead_sql, ours.id, plain) == stored(None, lead_sql, theirs.id, plain)
    assert len(stored(None, lead_sql, ours.id, plain)) == 6
    event_sql = ("SELECT e.*, l.external_id AS lead_ref FROM crm_lead_events e JOIN crm_leads l ON l.id = e.lead_id "
                 "ORDER BY l.external_id")
    assert stored(None, event_sql, ours.id, {"id", "lead_id", "connection_id"}) == \
        stored(None, event_sql, theirs.id, {"id", "lead_id", "connection_id"})
    for sql in ("SELECT * FROM integration_raw_events ORDER BY event_key",
                "SELECT * FROM integration_normalized_events ORDER BY source_ref"):
        mine = stored("traffic", sql, ours.id, {"id", "connection_id", "lead_id"})
        assert len(mine) == 6 and mine == stored("traffic", sql, theirs.id, {"id", "connection_id", "lead_id"})
    lead = db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == ours.id, CrmLead.external_id == "901"))
    assert lead.amount_base == Decimal("1668.67") and lead.owner_name == "Zoë Ng" and lead.company_name == "Acme · Montréal"
