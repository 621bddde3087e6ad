"""A CSV import into contacts that flow to the CRM (direction out or both): rows are matched to leads on
email, never on the file's own id column (a sign-up list knows nothing of the CRM's ids). A matched lead
takes the row's values of the fields written to the CRM as console-side changes; an unmatched row becomes
a console-side lead (its id a placeholder until the CRM gives it one) whose fields all go out. The next
outbound push writes them: an upsert on email, so a contact the CRM already holds is updated, not
duplicated. Empty cells change nothing."""
from __future__ import annotations

import sqlalchemy as sa

from ..choices import PUSHING
from ..connectors.base import SourceRecord
from ..extensions import db
from ..mapping.mapper import MappingSpec, map_record
from ..mapping.outbound import writable
from ..mapping.service import load_spec
from ..models import CrmLead, IntegrationConnection, IntegrationSyncJob, IntegrationSyncRun
from ..security.redact import redact_text
from ..sync.outbound.changes import placeholder_id, record_change
from ..sync.runs.accounting import Tally

ORIGIN = "csv_import"


def applies(conn: IntegrationConnection, object_type: str) -> bool:
    """Whether an import of `object_type` into `conn` takes this path (contacts that push)."""
    if object_type != "contacts":
        return False
    direction = db.session.scalar(sa.select(IntegrationSyncJob.direction).where(
        IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.object_type == object_type))
    return direction in PUSHING


def foresee(conn: IntegrationConnection, csv_spec: MappingSpec, records: list[SourceRecord]
            ) -> list[tuple[int, str, str, str]]:
    """What `TwoWayImport.apply` would do with each row, writing nothing: (line, id, bucket, reason)."""
    mapped = [(rec, map_record(rec, csv_spec)) for rec in records]
    emails = {m.values.get("email") for _, m in mapped if not m.failures and m.values.get("email")}
    held = set(db.session.scalars(sa.select(CrmLead.email).where(
        CrmLead.connection_id == conn.id, CrmLead.object_type == "contacts", CrmLead.email.in_(sorted(emails)),
        CrmLead.archived.is_(False)))) if emails else set()
    out = []
    for rec, m in mapped:
        line = int(getattr(rec, "line", 0))
        if m.failures:
            out.append((line, rec.external_id, "failed", redact_text("; ".join(f.reason for f in m.failures))[:1000]))
        elif m.values.get("email") in held:
            out.append((line, rec.external_id, "updated", "matches a lead on email; its CRM fields are queued"))
        else:
            held.add(m.values.get("email"))
            out.append((line, rec.external_id, "created", "new lead, matched on email; its fields are queued"))
    return out


class TwoWayImport:
    def __init__(self, conn: IntegrationConnection, csv_spec: MappingSpec, run: IntegrationSyncRun, tally: Tally,
                 label: str) -> None:
        self.conn, self.csv_spec, self.run, self.tally, self.label = conn, csv_spec, run, tally, label
        outbound = load_spec(conn.id, csv_spec.object_type).outbound_rules
        self.outbound = {r.target for r in outbound if writable(r)}

    def apply(self, records: list[SourceRecord]) -> list[tuple[SourceRecord, str, str]]:
        """Each row's (record, bucket, reason), written in one transaction with the run's counts."""
        self.tally.read(len(records))
        mapped = [(rec, map_record(rec, self.csv_spec)) for rec in records]
        emails = {m.values.get("email") for _, m in mapped if not m.failures and m.values.get("email")}
        leads = {lead.email: lead for lead in db.session.scalars(sa.select(CrmLead).where(
            CrmLead.connection_id == self.conn.id, CrmLead.object_type == "contacts",
            CrmLead.email.in_(sorted(emails)), CrmLead.archived.is_(False)).order_by(CrmLead.id.desc()))} if emails else {}
        out = []
        for rec, m in mapped:
            if m.failures:
                reason = redact_text("; ".join(f.reason for f in m.failures))[:1000]
                out.append((rec, "failed", reason))
                continue
            values = {k: v for k, v in m.values.items() if v is not None and k != "follow_up_state"}
            lead = leads.get(values.get("email"))
            if lead is None:
                lead = CrmLead(client_id=self.conn.client_id, connection_id=self.conn.id, object_type="contacts",
                               external_id=placeholder_id(), source_label=self.label, email=values.get("email"))
                db.session.add(lead)
                db.session.flush()
                leads[lead.email] = lead
                for name, value in values.items():
                    if name not in self.outbound:
                        setattr(lead, name, value)
                bucket = "created"
            else:
                bucket = "updated"
            changed = [name for name, value in values.items()
                       if name in self.outbound and record_change(lead, name, value, ORIGIN, self.run.triggered_by_user_id)]
            if bucket == "updated" and not changed:
                bucket = "unchanged"
            out.append((rec, bucket, f"{'new lead; ' if bucket == 'created' else ''}"
                                     f"{len(changed)} field(s) queued for the CRM" if changed or bucket == "created"
                        else "the lead already holds these values"))
        for rec, bucket, reason in out:
            self.tally.add(rec.external_id, bucket, reason)
        self.tally.store_on(self.run)
        db.session.commit()
        return out
