"""The content hash moved to orjson bytes (issue 34): a lead stored under the old hash (sha256 over the json
module's text) is recognised as the same content, so no record looks changed because the hash changed; a
record that did change is written with the new hash, and from then on compared by it."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from console.extensions import db
from console.mapping.mapper import Mapped
from console.models import CrmLead
from console.sandbox import SandboxConfig, SandboxServer
from console.sync.inbound.runner import ensure_job, execute, start_run

from .. import factories

FAST = {"backoff_base": 0.01, "timeout": 2.0}


def _old_hash(values: dict) -> str:
    """The hash every lead was stored with before, computed here independently of the console."""
    stable = {k: v for k, v in values.items() if k != "follow_up_state"}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


def test_both_hashes_describe_the_same_values_and_only_those():
    values = {"email": "ada@example.com", "amount": Decimal("12.50"), "closed_at": datetime(2026, 1, 2, 3, 4, 5),
              "owner": None, "follow_up_state": "due", "n": 10**20}  # an int beyond 64 bits goes through json
    mapped = Mapped(dict(values), [])
    old, new = _old_hash(values), mapped.content_hash()
    assert len(old) == 64 and len(new) == 63 and new != old
    assert mapped.same_content(old) and mapped.same_content(new)
    changed = Mapped({**values, "email": "ada@example.org"}, [])
    assert not changed.same_content(old) and not changed.same_content(new) and not changed.same_content(None)
    assert Mapped({**values, "follow_up_state": "overdue"}, []).same_content(new)  # the clock's part is left out


def test_leads_stored_under_the_old_hash_are_not_rewritten(app):
    with SandboxServer(SandboxConfig(contacts=250, deals=5, seed=5, limits=False)) as sandbox:
        _old_hashes_kept(sandbox)


def _old_hashes_kept(sandbox):
    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    execute(start_run(job, "backfill"), client_options=FAST)
    leads = db.session.scalars(sa.select(CrmLead).where(CrmLead.connection_id == conn.id)).all()
    assert len(leads) > 200 and all(len(lead.content_hash or "") == 63 for lead in leads)
    # As an earlier version stored them: the old hash of the very same mapped values.
    from console.mapping.mapper import map_record
    from console.sync.inbound.spec import inbound_spec
    from console.sync.provider import open_session

    session = open_session(conn, **FAST)
    spec = inbound_spec(conn.id, job, "contacts", session.reference())
    records = {r.external_id: r for r in session.stream("contacts", spec.requested()).read([l.external_id for l in leads])}
    for lead in leads:
        lead.content_hash = _old_hash(map_record(records[lead.external_id], spec).values)
    db.session.commit()
    run = start_run(job, "manual")
    execute(run, full=True, client_options=FAST)
    db.session.refresh(run)
    assert run.seen >= len(leads) and run.updated == 0 and run.unchanged >= len(leads), (run.updated, run.unchanged)
    db.session.expire_all()
    assert all(len(lead.content_hash) == 64 for lead in db.session.scalars(
        sa.select(CrmLead).where(CrmLead.connection_id == conn.id)))  # unchanged records keep the old hash
    # A record that changes at the provider is written with the new hash.
    some = sandbox.state.portal.all_active("contacts")[0]
    sandbox.state.portal.update("contacts", some, {"firstname": "Renamed"})
    run = start_run(job, "manual")
    execute(run, client_options=FAST)
    db.session.refresh(run)
    changed = db.session.scalar(sa.select(CrmLead).where(CrmLead.connection_id == conn.id,
                                                          CrmLead.external_id == str(some.id)))
    assert run.updated == 1 and len(changed.content_hash) == 63
