"""The mapping an inbound sync applies: the connection's rules for the object, with the job's match keys
honoured. A job that pushes and matches new records on our id (alone, or after the email) creates
records in the CRM that need no email; when they come back, an empty email must not fail them (they
were failing `required_missing` on every run, keeping the runs partial). One function, so the scheduled
sync, the webhook normalizer and the reconciliation read a record the same way."""
from __future__ import annotations

from dataclasses import replace

from ...choices import PUSHING
from ...mapping.mapper import MappingSpec, Reference
from ...mapping.service import load_spec
from ...models import IntegrationSyncJob
from ..outbound.pusher import CONSOLE_ID_PROPERTY, MATCH_KEYS, match_keys


def inbound_spec(connection_id: int, job: IntegrationSyncJob | None, object_type: str,
                 reference: Reference | None = None, broken: dict[str, str] | None = None) -> MappingSpec:
    """`broken`: source properties the provider's schema broke (their rules fail each record)."""
    spec = load_spec(connection_id, object_type, reference)
    spec.broken = dict(broken or {})
    if job is None or job.direction not in PUSHING:
        return spec
    keys = match_keys(object_type, job.match_on)
    if CONSOLE_ID_PROPERTY not in keys:
        return spec
    optional = {field for key in keys if (field := MATCH_KEYS.get(object_type, {}).get(key))}
    spec.rules = [replace(r, required=False) if r.target in optional else r for r in spec.rules]
    return spec
