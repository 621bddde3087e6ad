"""Schema drift: what changed in the provider's schema since the connection last looked, and whether it
breaks the mapping.

Every run compares the properties it reads at its start with the connection's snapshot of that object type,
and a daily check reads them anew (`check_due`). A change is breaking when the mapping depends on what
changed: a mapped property gone, or retyped to a type its transform cannot read; a mapped picklist option
removed; a field the console writes made read-only. Anything else is harmless (a new property, a new
option, a new label). A breaking change stays open until the mapping no longer depends on it (the property
back, the rule changed); the connection's drift policy says what a run does meanwhile: "pause" holds the
job (claims skip it; it resumes once nothing breaks it), "fail" runs and fails each record on the affected
fields with a `mapping` failure (`broken` feeds the mapping spec)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..choices import PUSHING, ConnectionStatus
from ..connectors.base import ConnectorError
from ..extensions import db
from ..mapping.targets import READS
from ..models import (
    IntegrationConnection,
    IntegrationEnumMapping,
    IntegrationFieldMapping,
    IntegrationSchemaDrift,
    IntegrationSchemaSnapshot,
    IntegrationSyncJob,
)
from ..models.base import changed_rows, utcnow

CHECK_EVERY = timedelta(hours=24)
RETRY_AFTER = timedelta(hours=1)  # a daily check the provider did not answer
log = logging.getLogger(__name__)
Shape = dict[str, dict]  # property name -> {label, type, fieldType, options, readOnly}


def shape(properties: list[dict]) -> Shape:
    """What the comparison keeps of each property (names, types, option values, the read-only flag)."""
    out: Shape = {}
    for prop in properties:
        name = prop.get("name")
        if not isinstance(name, str) or not name:
            continue
        raw_meta, raw_options = prop.get("modificationMetadata"), prop.get("options")
        meta: dict = raw_meta if isinstance(raw_meta, dict) else {}
        options: list = raw_options if isinstance(raw_options, list) else []
        out[name[:200]] = {"label": str(prop.get("label") or "")[:200], "type": str(prop.get("type") or "")[:40],
                           "fieldType": str(prop.get("fieldType") or "")[:40],
                           "options": sorted({str(o.get("value"))[:200] for o in options if isinstance(o, dict)})[:1000],
                           "readOnly": bool(meta.get("readOnlyValue"))}
    return out


@dataclass(frozen=True)
class Change:
    property: str
    kind: str
    detail: str
    option: str = ""


def diff(old: Shape, new: Shape) -> list[Change]:
    out = [Change(n, "added", f"new {new[n]['type']} property “{new[n]['label'] or n}”") for n in sorted(new.keys() - old.keys())]
    out += [Change(n, "removed", "deleted") for n in sorted(old.keys() - new.keys())]
    for n in sorted(old.keys() & new.keys()):
        a, b = old[n], new[n]
        if a["type"] != b["type"]:
            out.append(Change(n, "retyped", f"retyped from {a['type']} to {b['type']}"))
        if b["readOnly"] and not a["readOnly"]:
            out.append(Change(n, "read_only", "made read-only"))
        out += [Change(n, "option_removed", f"option “{v}” removed", v) for v in sorted(set(a["options"]) - set(b["options"]))]
        out += [Change(n, "option_added", f"option “{v}” added", v) for v in sorted(set(b["options"]) - set(a["options"]))]
        if a["label"] != b["label"]:
            out.append(Change(n, "relabelled", f"relabelled from “{a['label']}” to “{b['label']}”"))
    return out


@dataclass
class Uses:
    """What the connection's mapping of one object type depends on."""

    transforms: dict[str, set[str]]  # source property -> the transforms that read it
    written: set[str]  # source properties the console writes (direction out or both)
    options: set[tuple[str, str]]  # (source property, option value) the enum table maps to a value

    @classmethod
    def read(cls, connection_id: int, object_type: str) -> Uses:
        transforms: dict[str, set[str]] = {}
        written: set[str] = set()
        for row in db.session.scalars(sa.select(IntegrationFieldMapping).where(
                IntegrationFieldMapping.connection_id == connection_id, IntegrationFieldMapping.object_type == object_type)):
            transforms.setdefault(row.source_field, set()).add(row.transform)
            if row.direction in PUSHING:
                written.add(row.source_field)
        options = {(f, v) for f, v in db.session.execute(sa.select(
            IntegrationEnumMapping.source_field, IntegrationEnumMapping.source_value).where(
            IntegrationEnumMapping.connection_id == connection_id, IntegrationEnumMapping.object_type == object_type,
            IntegrationEnumMapping.ignored.is_(False), IntegrationEnumMapping.target_value.isnot(None)))}
        return cls(transforms, written, options)

    def breaks(self, kind: str, name: str, schema: Shape, option: str = "") -> bool:
        """Whether a change of this kind to `name` breaks the mapping, given the schema as it is now."""
        if name not in self.transforms:
            return False
        prop = schema.get(name)
        if kind == "removed":
            return prop is None
        if kind == "retyped":
            return prop is not None and any(prop["type"] not in READS.get(t, (prop["type"],)) for t in self.transforms[name])
        if kind == "option_removed":
            return prop is not None and (name, option) in self.options and option not in prop["options"]
        if kind == "read_only":
            return prop is not None and name in self.written and prop["readOnly"]
        return False


def observe(connection_id: int, object_type: str, properties: list[dict], found_by: str,
            now: datetime | None = None) -> list[IntegrationSchemaDrift]:
    """Compare the properties read now with the snapshot, record what changed, keep the new snapshot,
    close what no longer breaks. The first look only takes the snapshot. Commits; returns the new changes.

    Two runs of one connection may look at once (a test batch beside a first sync, two dispatchers): the
    snapshot's time is its version, moved by a conditional UPDATE, so only one records a change and the
    other compares again with what the first kept; a first snapshot taken twice loses one insert, retried."""
    now = now or utcnow()
    new = shape(properties)
    snap = IntegrationSchemaSnapshot
    for _ in range(3):
        held = db.session.execute(sa.select(snap.id, snap.properties, snap.taken_at).where(
            snap.connection_id == connection_id, snap.object_type == object_type)).first()
        if held is None:
            try:
                db.session.add(snap(connection_id=connection_id, object_type=object_type, properties=new,
                                    taken_at=now, checked_at=now))
                db.session.commit()
                return []
            except IntegrityError:  # another run took the first snapshot a moment earlier: compare with it
                db.session.rollback()
                continue
        changes = diff(held.properties, new)
        moved = snap.taken_at == held.taken_at
        won = changed_rows(db.session.execute(sa.update(snap).where(snap.id == held.id, moved).values(
            **({"properties": new, "taken_at": now} if changes else {}), checked_at=now)))
        if won != 1:  # another run recorded this change first
            db.session.rollback()
            continue
        uses = Uses.read(connection_id, object_type)
        rows = [IntegrationSchemaDrift(connection_id=connection_id, object_type=object_type, property=c.property,
                                       kind=c.kind, detail=c.detail[:500], option_value=c.option[:200] or None,
                                       breaking=uses.breaks(c.kind, c.property, new, c.option),
                                       found_by=found_by[:40], created_at=now)
                for c in changes]
        db.session.add_all(rows)
        _settle(connection_id, object_type, uses, new, now)
        db.session.commit()
        return rows
    return []


def settle(connection_id: int, object_type: str) -> None:
    """After the mapping changed: close what no longer breaks it, and resume a job held for it. Commits."""
    snap = db.session.scalar(sa.select(IntegrationSchemaSnapshot).where(
        IntegrationSchemaSnapshot.connection_id == connection_id, IntegrationSchemaSnapshot.object_type == object_type))
    if snap is not None:
        _settle(connection_id, object_type, Uses.read(connection_id, object_type), snap.properties, utcnow())
        db.session.commit()


def _settle(connection_id: int, object_type: str, uses: Uses, schema: Shape, now: datetime) -> None:
    still = 0
    for drift in _open(connection_id, object_type):
        if drift.breaking and uses.breaks(drift.kind, drift.property, schema, drift.option_value or ""):
            still += 1
        elif drift.breaking or (drift.kind == "added" and drift.property in uses.transforms):
            drift.resolved_at = now  # no longer breaks (or the new property is mapped now)
    if not still:
        db.session.execute(sa.update(IntegrationSyncJob).where(
            IntegrationSyncJob.connection_id == connection_id, IntegrationSyncJob.object_type == object_type)
            .values(paused_reason=None).execution_options(synchronize_session="fetch"))


def _open(connection_id: int, object_type: str | None = None) -> list[IntegrationSchemaDrift]:
    d = IntegrationSchemaDrift
    return list(db.session.scalars(sa.select(d).where(d.connection_id == connection_id, d.resolved_at.is_(None),
                                                      *([d.object_type == object_type] if object_type else []))
                                   .order_by(d.id)))


def recent(connection_id: int, object_type: str, days: int = 30) -> list[IntegrationSchemaDrift]:
    """What the mapping step shows: every open breaking change, and the last month's others."""
    d = IntegrationSchemaDrift
    return list(db.session.scalars(sa.select(d).where(
        d.connection_id == connection_id, d.object_type == object_type,
        sa.or_(sa.and_(d.breaking.is_(True), d.resolved_at.is_(None)), d.created_at >= utcnow() - timedelta(days=days)))
        .order_by(d.id.desc()).limit(200)))


def breaking(connection_id: int, object_type: str | None = None) -> list[IntegrationSchemaDrift]:
    return [d for d in _open(connection_id, object_type) if d.breaking]


def broken(connection_id: int, object_type: str) -> dict[str, str]:
    """Source property -> why each record mapping it fails (the `fail` policy), in words for ops."""
    return {d.property: f"“{d.property}” was {d.detail} in the provider on {d.created_at:%d %b %Y}"
            for d in breaking(connection_id, object_type)}


def hold(job: IntegrationSyncJob, drifts: list[IntegrationSchemaDrift]) -> str:
    """Hold the job (the `pause` policy); the reason, which the run also fails with. Commits."""
    fields = ", ".join(sorted({f"{d.property} ({d.detail})" for d in drifts}))[:400]
    job.paused_reason = f"Paused: the provider's schema changed under the mapping: {fields}."
    db.session.commit()
    return job.paused_reason


def check_due(session_for, now: datetime | None = None, limit: int = 20) -> int:
    """The daily check: every live connection's mapped object types whose schema was not compared for a day
    are read anew. Each is claimed first (a conditional UPDATE of its check time: two dispatchers never
    compare one twice); a provider that cannot be reached is tried again in an hour. `session_for(connection)`
    opens the provider. Returns how many were compared."""
    now = now or utcnow()
    snap = IntegrationSchemaSnapshot
    due = db.session.execute(sa.select(snap.id, snap.connection_id, snap.object_type, snap.checked_at).join(
        IntegrationConnection, IntegrationConnection.id == snap.connection_id).where(
        IntegrationConnection.status == ConnectionStatus.LIVE.value, snap.checked_at <= now - CHECK_EVERY)
        .order_by(snap.checked_at).limit(limit)).all()
    done = 0
    for snap_id, connection_id, object_type, checked_at in due:
        won = changed_rows(db.session.execute(sa.update(snap).where(snap.id == snap_id, snap.checked_at == checked_at)
                                              .values(checked_at=now - CHECK_EVERY + RETRY_AFTER)))
        db.session.commit()
        conn = db.session.get(IntegrationConnection, connection_id)
        if won != 1 or conn is None:
            continue
        try:
            properties = session_for(conn).properties(object_type)
        except ConnectorError as exc:
            log.warning("schema check of connection %s %s: %s", connection_id, object_type, exc)
            continue
        observe(connection_id, object_type, properties, "daily check", now)
        done += 1
    return done
