"""The mapping step's changes: each edits the jobs or the mapping (mapping/editor.py), moves the launch
checklist, is audited, and commits. The step's views only parse, call these and render."""
from __future__ import annotations

import sqlalchemy as sa

from .. import audit
from ..connectors.base import ConnectorError
from ..extensions import db
from ..mapping import editor
from ..mapping.service import ensure_default_mappings
from ..models import CrmLead, IntegrationConnection, IntegrationSyncJob, User
from ..sync import catalogue, schema_drift
from ..sync.inbound.runner import ensure_job
from ..sync.outbound.pusher import CONSOLE_ID_PROPERTY
from ..sync.proof import reconcile
from ..sync.provider import open_session
from . import checklist


def save_jobs(conn: IntegrationConnection, user: User, existing: dict[str, IntegrationSyncJob],
              chosen: dict[str, tuple[bool, int]], webhook_events: str,
              directions: dict[str, str] | None = None, blackout: dict | None = None, *,
              match: dict[str, str] | None = None, after: dict[str, str | None] | None = None) -> list[str]:
    """Enable the chosen objects (object type -> (enabled, minutes between runs)), each flowing in its
    direction (inbound, outbound, both), matching new records in the CRM on its `match` keys, running after
    the object `after` names, none scheduled inside the daily `blackout` window; and create their default
    mappings. Returns the objects whose provider fields could not be read (their defaults wait)."""
    for object_type, (enabled, minutes) in chosen.items():
        job = existing.get(object_type)
        if enabled or job:
            job = job or ensure_job(conn, object_type)
            job.enabled, job.schedule_seconds = enabled, minutes * 60
            job.direction = (directions or {}).get(object_type, job.direction or "in")
            job.webhook_events = webhook_events.strip()
            job.blackout = blackout
            if match is not None and object_type in match:
                job.match_on = match[object_type] or None
            if after is not None:
                job.depends_on = after.get(object_type)
            if job.depends_on and not chosen.get(job.depends_on, (False, 0))[0]:
                job.depends_on = None  # do not wait for an object that is not synced
    synced = [o for o, (on, _) in chosen.items() if on]
    checklist.prove(conn, "jobs_named", True, user=user)
    checklist.prove(conn, "fields_mapped", False, "objects changed")
    audit.record("mapping.jobs_saved", conn, user, enabled=synced, directions=directions or {}, blackout=blackout,
                 match=match or {}, after=after or {})
    db.session.commit()
    return create_defaults(conn, synced)


def create_defaults(conn: IntegrationConnection, object_types: list[str]) -> list[str]:
    unread = []
    for object_type in object_types:
        try:
            props = catalogue.properties(conn, object_type)
        except ConnectorError:
            unread.append(object_type)
            continue
        if props:
            ensure_default_mappings(conn.id, object_type, props)  # commits
    return unread


def set_field(conn: IntegrationConnection, object_type: str, name: str, source: str, transform: str,
              required: bool, sensitive: bool, user: User, flow: editor.Flow | None = None) -> int:
    """Returns how many stored records the old rule mapped (re-mapped by the repair queued for them)."""
    editor.set_field(conn, object_type, name, source, transform, required, sensitive,
                     catalogue.typed(conn, object_type), user, flow)
    checklist.prove(conn, "fields_mapped", False, "mapping edited")
    db.session.commit()
    schema_drift.settle(conn.id, object_type)  # a rule off a deleted property: the drift closes, the job resumes
    return remap(conn, object_type)


def remove_field(conn: IntegrationConnection, object_type: str, name: str, user: User) -> None:
    editor.remove_field(conn, object_type, name, user)
    checklist.prove(conn, "fields_mapped", False, "mapping edited")
    db.session.commit()
    schema_drift.settle(conn.id, object_type)


def save_enums(conn: IntegrationConnection, object_type: str, field: str, values: dict, user: User) -> int:
    changed = editor.save_enums(conn, object_type, field, values, user)
    checklist.prove(conn, "fields_mapped", False, "picklist edited")
    db.session.commit()
    schema_drift.settle(conn.id, object_type)
    if changed:
        remap(conn, object_type)
    return changed


def remap(conn: IntegrationConnection, object_type: str) -> int:
    """A changed rule leaves the records it mapped with the old rule's values: a reconcile and repair of
    the object is queued (it reads the provider's records and rewrites every one whose values differ, with
    a run's accounting; until it runs, reconciliations count them as value drift). Returns the records
    stored, 0 when there is nothing to re-map (no synced records, or no sync job to read them with)."""
    job = db.session.scalar(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.object_type == object_type))
    stored = db.session.scalar(sa.select(sa.func.count()).select_from(CrmLead).where(
        CrmLead.connection_id == conn.id, CrmLead.object_type == object_type))
    if job is None or not stored:
        return 0
    reconcile.request(conn, object_type, "remap", repair=True)
    return int(stored)


def confirm(conn: IntegrationConnection, user: User, object_types: list[str]) -> None:
    checklist.prove(conn, "fields_mapped", True, f"{len(object_types)} object type(s) validated", user)
    audit.record("mapping.confirmed", conn, user, objects=object_types)
    db.session.commit()


def create_id_property(conn: IntegrationConnection, object_type: str, user: User) -> None:
    """The unique text property our id is written to, created in the CRM (needs its schema write scope);
    one that exists already is left as it is. Raises ConnectorError when the CRM refuses."""
    open_session(conn, timeout=10.0, max_attempts=2).define_property(
        object_type, CONSOLE_ID_PROPERTY, "Connector Console id", unique=True)
    catalogue.properties(conn, object_type, fresh=True)
    audit.record("mapping.id_property_created", conn, user, object_type=object_type, property=CONSOLE_ID_PROPERTY)
    db.session.commit()


def set_drift_policy(conn: IntegrationConnection, policy: str, user: User) -> None:
    before = conn.drift_policy
    conn.drift_policy = policy
    audit.record("mapping.drift_policy", conn, user, before=before, after=policy)
    db.session.commit()
