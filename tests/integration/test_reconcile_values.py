"""Reconciliation proves values (issue 33): every kind of planted difference is reported by kind with exact
counts and exit 1, value drift with its version and hash untouched included; `--repair` heals every kind
(a stored version newer than the provider's too) and the test's own value-by-value comparison with the
sandbox's records then finds 0; a console creation waiting for its push is counted apart and never
archived; a changed mapping rule queues the re-map and counts as drift until it runs; "in flight" ends
after the job's schedule plus its freshness target."""
from __future__ import annotations

import re
from datetime import UTC, timedelta
from decimal import Decimal

import requests
import sqlalchemy as sa

from console.extensions import db
from console.models import (
    CrmLead,
    CrmLeadEvent,
    IntegrationFieldMapping,
    IntegrationReconciliation,
    IntegrationSyncError,
)
from console.models.base import utcnow
from console.sandbox import SandboxConfig, SandboxServer
from console.sync.inbound.runner import ensure_job
from console.sync.inbound.spec import inbound_spec
from console.sync.outbound.changes import placeholder_id
from console.sync.proof import reconcile
from console.sync.proof.inventory_diff import compare
from console.sync.provider import open_session

from .. import factories
from .test_fidelity import FAST, check, sync


def ms(dt) -> int:
    return int(round(dt.replace(tzinfo=UTC).timestamp() * 1000))


def _text(value) -> str | None:
    text = None if value is None else " ".join(str(value).split())
    return text or None


def value_differences(conn, portal, first_from: str = "firstname") -> list[str]:
    """The test's own comparison, not reconcile's: every active sandbox contact that no sync error holds
    (the sandbox seeds invalid emails) is stored, unarchived, at its version, with its email (lower-cased),
    first and last names as the sandbox holds them; nothing else of the provider's is stored as active."""
    db.session.commit()
    held = set(db.session.scalars(sa.select(IntegrationSyncError.external_id).where(
        IntegrationSyncError.connection_id == conn.id, IntegrationSyncError.status.in_(["open", "retrying"]))))
    stored = {lead.external_id: lead for lead in db.session.scalars(sa.select(CrmLead).where(
        CrmLead.connection_id == conn.id, CrmLead.object_type == "contacts"))}
    wrong = []
    active = {str(r.id): r for r in portal.all_active("contacts")}
    for rid, rec in active.items():
        if rid in held:
            continue
        lead, props = stored.get(rid), rec.props
        if lead is None or lead.archived or ms(lead.provider_updated_at) != rec.updated:
            wrong.append(f"{rid}: version")
            continue
        expected = {"email": (_text(props.get("email")) or "").lower() or None,
                    "first_name": _text(props.get(first_from)), "last_name": _text(props.get("lastname"))}
        for name, value in expected.items():
            if getattr(lead, name) != value:
                wrong.append(f"{rid}: {name} {getattr(lead, name)!r} != {value!r}")
    wrong += [f"{rid}: extra" for rid, lead in stored.items()
              if not lead.archived and rid not in active and not rid.startswith("console:")]
    return sorted(wrong)


def counts(row: IntegrationReconciliation) -> dict[str, int]:
    return {k: getattr(row, k) for k in ("missing", "extra", "stale", "value_drift", "wrongly_archived", "pending_push")}


def test_every_planted_kind_is_found_by_kind_and_repair_heals_them_all(app, runner, monkeypatch):
    from console.sync.proof import inventory_diff

    # Pages smaller than the data: the comparison crosses several provider chunks and stored-id keyset steps,
    # and the planted records are spread over them (first, middle, last).
    monkeypatch.setattr(inventory_diff, "CHUNK", 64)
    monkeypatch.setattr(inventory_diff, "STORED_CHUNK", 50)
    with SandboxServer(SandboxConfig(contacts=400, deals=0, seed=61, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        db.session.commit()
        sync(job)
        clean = check(conn)
        assert clean.differences == 0 and clean.value_drift == 0, clean.examples  # values compare equal as stored
        leads = db.session.scalars(sa.select(CrmLead).where(CrmLead.connection_id == conn.id,
                                                            CrmLead.email.is_not(None)).order_by(CrmLead.id)).all()
        spread = leads[::len(leads) // 12][:12]  # 12 records from the first to the last page
        assert int(spread[-1].external_id) - int(spread[0].external_id) > 300
        drift, deleted, archived, newer = spread[0:5], spread[5:8], spread[8:10], spread[10:12]
        for lead in drift:  # a writer bug or a hand edit: values changed, version and hash as they were
            lead.first_name = "Planted"
        db.session.execute(sa.delete(CrmLeadEvent).where(CrmLeadEvent.lead_id.in_([lead.id for lead in deleted])))
        for lead in deleted:
            db.session.delete(lead)
        for lead in archived:
            lead.archived, lead.archived_at = True, utcnow()
        for lead in newer:  # a restore from elsewhere: a version the provider never had (D6)
            lead.provider_updated_at += timedelta(days=1)
            lead.last_name = "FromTheFuture"
        waiting = CrmLead(client_id=conn.client_id, connection_id=conn.id, object_type="contacts",
                          external_id=placeholder_id(), source_label="Front desk", email="walk.in@example.org")
        db.session.add(waiting)  # created on the console side, waiting for its push (D3)
        db.session.commit()
        assert len(value_differences(conn, sb.state.portal)) == 12  # the test's own count of what was planted

        found = check(conn)
        assert counts(found) == {"missing": 3, "extra": 0, "stale": 2, "value_drift": 5, "wrongly_archived": 2,
                                 "pending_push": 1}
        assert found.differences == 12
        assert found.examples["fields"] == {lead.external_id: ["first_name"] for lead in
                                            sorted(drift, key=lambda lead: int(lead.external_id))}
        out = runner.invoke(args=["sync", "reconcile", str(conn.id)])
        assert out.exit_code == 1 and re.search(r"value drift\s+5\b.*\(first_name\)", out.output), out.output

        repaired = runner.invoke(args=["sync", "reconcile", str(conn.id), "--repair"])
        assert repaired.exit_code == 0, repaired.output
        assert re.search(r"after the repair:.*differences\s+0\b", repaired.output, re.S), repaired.output
        assert value_differences(conn, sb.state.portal) == []  # healed, by the test's own comparison
        db.session.refresh(waiting)
        assert not waiting.archived and waiting.external_id.startswith("console:")  # never archived as extra
        final = check(conn)
        assert final.differences == 0 and final.failing > 0  # the sandbox's invalid emails: failing, never a difference


def test_a_changed_mapping_rule_queues_the_re_map_and_counts_as_drift_until_it_runs(app, login):
    with SandboxServer(SandboxConfig(contacts=300, deals=0, seed=62, limits=False)) as sb:
        owner = login("owner")
        conn = factories.hubspot_connection(sb.url, sb.token)
        conn.owner_user_id = owner.user.id
        job = ensure_job(conn, "contacts", enabled=True)
        db.session.commit()
        sync(job)
        assert check(conn).differences == 0
        resp = owner.hx_post(f"/connections/{conn.id}/wizard/mapping/contacts/first_name",
                             {"source": "lastname", "transform": "trim", "direction": "in", "system_of_record": "provider"})
        assert resp.status_code == 200 and "a reconcile and repair is queued to re-map them" in resp.get_data(as_text=True)
        queued = db.session.scalars(sa.select(IntegrationReconciliation).where(
            IntegrationReconciliation.status == "queued")).all()
        assert [(r.trigger, r.repair) for r in queued] == [("remap", True)]
        db.session.expire_all()
        rule = db.session.scalar(sa.select(IntegrationFieldMapping).where(IntegrationFieldMapping.target_field == "first_name"))
        assert rule.source_field == "lastname"
        # Until it runs, the old rule's values are drift: exactly the contacts whose first and last names differ.
        expected = sum(1 for r in sb.state.portal.all_active("contacts")
                       if _text(r.props.get("firstname")) != _text(r.props.get("lastname"))
                       and db.session.scalar(sa.select(CrmLead.id).where(CrmLead.external_id == str(r.id))))
        session = open_session(conn, **FAST)
        found, _ = compare(conn, job, session, inbound_spec(conn.id, job, "contacts", session.reference()))
        assert found.counts["value_drift"] == expected and expected > 200
        row = reconcile.execute(queued[0].id, "test", client_options=FAST)  # the queued re-map runs
        assert row.status == "succeeded" and row.value_drift == expected and row.repaired == expected
        after = db.session.scalar(sa.select(IntegrationReconciliation).where(
            IntegrationReconciliation.trigger == "after repair"))
        after = reconcile.execute(after.id, "test", client_options=FAST)
        assert after.differences == 0
        assert value_differences(conn, sb.state.portal, first_from="lastname") == []


def test_in_flight_ends_after_the_schedule_and_the_freshness_target(app):
    with SandboxServer(SandboxConfig(contacts=200, deals=0, seed=63, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        job = ensure_job(conn, "contacts")
        db.session.commit()
        sync(job)
        requests.post(f"{sb.url}/_sandbox/changes", timeout=30, json={"update": 10, "seed": 7})
        now = check(conn)
        assert (now.in_flight, now.differences) == (10, 0)  # changed since the last sync: the next run takes them
        # The syncs fail for a day: the same changes are no longer "in flight" but differences.
        later = reconcile.execute(reconcile.queue(conn, "contacts", "cli").id, "test", client_options=FAST,
                                  now=utcnow() + timedelta(days=1))
        assert (later.in_flight, later.stale) == (0, 10) and later.differences == 10
        assert Decimal(job.schedule_seconds + conn.freshness_target_seconds) < Decimal(86400)


def test_companies_and_deals_compare_equal_as_stored_and_a_planted_amount_is_found(app):
    """Every column type compares as the database returns it (money, times, stage labels): a clean copy
    of companies and deals reconciles to 0, and a deal amount changed by hand is value drift, healed."""
    with SandboxServer(SandboxConfig(contacts=100, deals=150, companies=40, seed=64, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        jobs = {o: ensure_job(conn, o) for o in ("companies", "contacts", "deals")}
        for job in jobs.values():
            job.depends_on = None
        db.session.commit()
        for object_type in ("companies", "contacts", "deals"):
            sync(jobs[object_type])
            clean = check(conn, object_type)
            assert clean.differences == 0, (object_type, clean.examples)
        deal = db.session.scalar(sa.select(CrmLead).where(CrmLead.object_type == "deals", CrmLead.amount.is_not(None))
                                 .order_by(CrmLead.id))
        deal.amount += Decimal("1.00")
        db.session.commit()
        found = check(conn, "deals")
        assert found.value_drift == 1 and found.examples["fields"] == {deal.external_id: ["amount"]}
        healed = check(conn, "deals", repair=True)
        assert healed.repaired == 1
        assert check(conn, "deals").differences == 0
