"""What the page writer decides for one provider record, and the small rules it decides by: a record
older than the stored version never overwrites it, and the stored version is the provider's own time."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...connectors.base import SourceRecord
from ...mapping.mapper import LEAD_FIELDS, Mapped
from ...models import CrmLead

TRACKED = {"deal_stage": "stage_changed", "owner_external_id": "owner_changed", "lead_status": "status_changed",
           "lifecycle_stage": "lifecycle_changed", "amount": "amount_changed", "pipeline": "pipeline_changed"}
# What deciding and writing need of a stored lead, read as plain rows (no ORM objects on the hot path).
STORED = (CrmLead.id, CrmLead.external_id, CrmLead.content_hash, CrmLead.archived, CrmLead.provider_updated_at,
          *(getattr(CrmLead, f) for f in TRACKED))
Stored = Any  # a row of STORED: attribute access by column name


@dataclass(slots=True)
class Decision:
    record: SourceRecord
    bucket: str
    mapped: Mapped | None = None
    lead: Stored | None = None
    reason: str = ""
    echo: bool = False  # our own outbound write coming back: stored silently, no lead event

    event_key: str = field(init=False)
    occurred: datetime | None = field(init=False)  # the provider's modification time

    def __post_init__(self) -> None:
        rec = self.record
        self.event_key = f"{rec.external_id}:{rec.updated_ms}:{'a' if rec.archived else 'l'}"
        self.occurred = ms_to_dt(rec.updated_ms)


def older(rec: SourceRecord, lead: Stored | None) -> bool:
    """A late or reordered delivery must never overwrite newer data with older."""
    if lead is None or lead.provider_updated_at is None or not rec.updated_ms:
        return False
    return ms_to_dt(rec.updated_ms) < lead.provider_updated_at


def lead_values(mapped: Mapped) -> dict:
    return {k: v for k, v in mapped.values.items() if k in LEAD_FIELDS or k == "follow_up_state"}


def norm(value: Any) -> str | None:
    return None if value is None else str(value)


def short(value: Any) -> str | None:
    return None if value is None else str(value)[:500]


EPOCH = datetime(1970, 1, 1)


def ms_to_dt(ms: int | None) -> datetime | None:
    """Naive UTC from epoch milliseconds, in integer arithmetic (the same instant fromtimestamp gives,
    without the float and time-zone round trip: it runs two or three times per record)."""
    return None if not ms else EPOCH + timedelta(milliseconds=ms)


def mapped_of(d: Decision) -> Mapped:
    """A decision's mapped values; every created, updated or failed decision has them."""
    assert d.mapped is not None, f"{d.bucket} decision of {d.record.external_id} without mapped values"
    return d.mapped


def changes(d: Decision) -> dict:
    if d.mapped is None or d.lead is None:
        return {}
    return {k: v for k, v in d.mapped.values.items() if k in TRACKED and norm(getattr(d.lead, k, None)) != norm(v)}
