"""The mapping step's "More objects": HubSpot's products, line items and tickets, and the portal's custom
objects read from its schemas, each synced into the console (inbound only: the console never writes them)
by a job of its own, with a default mapping of its own fields.

A custom object's schema is stored when a person chooses it (mapping/objects.remember), so its labels,
fields and associations stay what the person saw, and a type id only ever means this portal's object."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .. import audit
from ..choices import Direction
from ..connectors.base import ConnectorError
from ..extensions import db
from ..mapping import objects
from ..models import IntegrationConnection, IntegrationSyncJob, User
from ..refusals import Refused
from ..sync import catalogue
from ..sync.inbound.runner import ensure_job
from ..sync.provider import has_api
from . import checklist
from .mapping_changes import create_defaults

DEFAULT_MINUTES = 60


@dataclass
class Offer:
    object_type: str
    label: str
    detail: str
    job: IntegrationSyncJob | None
    schema: dict | None = None  # a custom object's, as the portal describes it now

    @property
    def synced(self) -> bool:
        return bool(self.job and self.job.enabled)

    @property
    def minutes(self) -> int:
        return max(1, self.job.schedule_seconds // 60) if self.job else DEFAULT_MINUTES


class NotOffered(Refused):
    pass


def offers(conn: IntegrationConnection) -> tuple[list[Offer], str | None]:
    """What can be synced besides contacts, companies and deals; a portal whose schemas cannot be read
    still offers the standard objects (and keeps the custom ones already synced), with why. A provider read
    from files offers none."""
    if not has_api(conn):
        return [], None
    jobs = {j.object_type: j for j in db.session.scalars(
        sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id))}
    out = [Offer(t, objects.label(t), f"{conn.provider.name}'s standard object", jobs.get(t)) for t in objects.more(conn.id)]
    error = None
    try:
        schemas = catalogue.object_schemas(conn)
    except ConnectorError as exc:
        schemas, error = [], f"The portal's custom objects could not be read: {exc}"
    for schema in schemas:
        linked = ", ".join(objects.label(t).lower() for t in schema["associations"]) or "no standard object"
        out.append(Offer(schema["object_type"], schema["plural"], f"Custom object {schema['name']} "
                         f"({len(schema['properties'])} properties; associated with {linked})",
                         jobs.get(schema["object_type"]), schema))
    offered = {o.object_type for o in out}
    for object_type, job in sorted(jobs.items()):
        if object_type not in offered and object_type not in objects.CORE:  # gone from the portal's schemas
            out.append(Offer(object_type, objects.label(object_type, conn.id),
                             "Not among the portal's custom objects now", job))
    return out, error


def save(conn: IntegrationConnection, user: User, chosen: dict[str, int]) -> list[str]:
    """Sync exactly the `chosen` offers (object type -> minutes between runs) and stop the others; a
    choice that is not offered is refused and changes nothing. Returns the objects whose fields could not
    be read (their default mappings wait, as in the core jobs' save)."""
    available, _ = offers(conn)
    by_type = {o.object_type: o for o in available}
    unknown = [t for t in chosen if t not in by_type or (by_type[t].schema is None and t not in objects.more(conn.id))]
    if unknown:
        raise NotOffered(f"Not an object this portal offers: {', '.join(sorted(unknown))[:200]}.")
    core = db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == conn.id, IntegrationSyncJob.object_type.in_(objects.CORE))).all()
    blackout = next((j.blackout for j in core if j.blackout), None)
    for offer in available:
        if offer.object_type in chosen:
            if offer.schema is not None:
                objects.remember(conn.id, offer.schema)
            job = offer.job or ensure_job(conn, offer.object_type)
            job.enabled, job.schedule_seconds = True, chosen[offer.object_type] * 60
            job.direction, job.depends_on, job.blackout = Direction.INBOUND.value, None, blackout
        elif offer.job is not None:
            offer.job.enabled = False
    checklist.prove(conn, "fields_mapped", False, "objects changed")
    audit.record("mapping.more_objects_saved", conn, user, enabled=sorted(chosen))
    db.session.commit()
    return create_defaults(conn, sorted(chosen))
