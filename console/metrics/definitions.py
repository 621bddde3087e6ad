"""What each client metric means: its words (generic, never the provider's), unit, period, and the rules
that turn a reading and its baseline into a status and a suggested next action."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..choices import MetricStatus
from ..mapping.objects import label as object_label
from ..mapping.objects import rank
from . import commerce, readings
from .readings import Reading

Assess = Callable[[Reading, "Decimal | None"], tuple[MetricStatus, str]]


@dataclass(frozen=True)
class MetricDef:
    key: str
    title: str
    description: str
    object_type: str  # which records it reads; a baseline is captured from a run of this type
    unit: str  # "%", "leads", or "money" (shown as the connection's base currency)
    period: str
    read: Callable[[int, datetime], Reading]
    assess: Assess
    rule: str = ""  # when it is on track, in the client's words: the card says it beside the status
    needs: tuple[str, ...] = ()  # other object types it reads: it applies only where they are synced too

    def applies(self, synced: set[str] | frozenset[str]) -> bool:
        """Whether a connection syncing `synced` can measure it (a reading without them would be false)."""
        return set(self.needs) <= synced


def _dropped(value: Decimal, baseline: Decimal | None, points: Decimal) -> bool:
    return baseline is not None and value < baseline - points


def _assess_owner(r: Reading, baseline: Decimal | None) -> tuple[MetricStatus, str]:
    unassigned = r.facts.get("unassigned", 0)
    if r.value < 90 or _dropped(r.value, baseline, Decimal(5)):
        return MetricStatus.NEEDS_ATTENTION, f"Assign an owner to the {unassigned:,} unassigned leads."
    if unassigned:
        return MetricStatus.ON_TRACK, f"Assign the remaining {unassigned:,} leads so none wait without an owner."
    return MetricStatus.ON_TRACK, "Keep assigning new leads as they arrive."


def _assess_follow_up(r: Reading, baseline: Decimal | None) -> tuple[MetricStatus, str]:
    overdue, none = r.facts.get("overdue", 0), r.facts.get("none", 0)
    attention = r.value < 70 or overdue * 10 > r.total or _dropped(r.value, baseline, Decimal(5))
    if overdue >= none and overdue:
        action = f"Follow up on the {overdue:,} leads whose next step is overdue."
    elif none:
        action = f"Book a next step for the {none:,} leads that have none."
    else:
        action = "Keep a next step booked for every new lead."
    return (MetricStatus.NEEDS_ATTENTION if attention else MetricStatus.ON_TRACK), action


def _assess_source(r: Reading, baseline: Decimal | None) -> tuple[MetricStatus, str]:
    unknown = r.facts.get("unknown", 0)
    if r.value < 80 or _dropped(r.value, baseline, Decimal(5)):
        return MetricStatus.NEEDS_ATTENTION, f"Record where the {unknown:,} leads without a source came from."
    return MetricStatus.ON_TRACK, "Keep source tracking on for new forms, campaigns and imports."


def _assess_pipeline(r: Reading, baseline: Decimal | None) -> tuple[MetricStatus, str]:
    if baseline and r.value < baseline * Decimal("0.9"):
        drop = ((baseline - r.value) * 100 / baseline).quantize(Decimal("1"))
        return (MetricStatus.NEEDS_ATTENTION,
                f"Open pipeline is {drop}% below the baseline: review the deals lost or stalled since then.")
    busiest = max(r.rows, key=lambda row: row["count"], default=None)
    if busiest:
        return (MetricStatus.ON_TRACK,
                f"Move the {busiest['count']:,} deals in {busiest['label']} to their next stage.")
    return MetricStatus.ON_TRACK, "Add new opportunities as they come in."


def _assess_company(r: Reading, baseline: Decimal | None) -> tuple[MetricStatus, str]:
    missing = r.facts.get("without_company", 0)
    if r.value < 80 or _dropped(r.value, baseline, Decimal(5)):
        return MetricStatus.NEEDS_ATTENTION, f"Link the {missing:,} open deals without a company to one, largest first."
    top = next((row for row in r.rows if row["label"] != "No company"), None)
    if top:
        return MetricStatus.ON_TRACK, f"The largest open pipeline is with {top['label']}: keep its {top['count']:,} deals moving."
    return MetricStatus.ON_TRACK, "Link each new deal to its company as it comes in."


def _assess_products(r: Reading, baseline: Decimal | None) -> tuple[MetricStatus, str]:
    if baseline and r.value < baseline * Decimal("0.9"):
        drop = ((baseline - r.value) * 100 / baseline).quantize(Decimal("1"))
        return (MetricStatus.NEEDS_ATTENTION,
                f"Line-item value is {drop}% below the baseline: review the products that sell less since then.")
    missing = r.facts.get("without_product", 0)
    if missing:
        return MetricStatus.ON_TRACK, f"Link the {missing:,} line items without a product to one, so each sale is counted."
    top = r.rows[0] if r.rows else None
    if top:
        return MetricStatus.ON_TRACK, f"{top['label']} sells most: keep its {top['count']:,} line items moving."
    return MetricStatus.ON_TRACK, "Add line items to new deals as they come in."


METRICS: tuple[MetricDef, ...] = (
    MetricDef("open_pipeline", "Open pipeline", "The value of deals still open, by stage.", "deals", "money",
              "Open deals now", readings.open_pipeline, _assess_pipeline,
              "On track while the open pipeline stays above 90% of the baseline."),
    MetricDef("lead_owner", "Leads with an owner", "The share of leads someone on your team is responsible for.",
              "contacts", "%", "All current leads", readings.lead_owner, _assess_owner,
              "On track while at least 90% of leads have an owner and the share is no more than 5 points "
              "below the baseline."),
    MetricDef("follow_up", "Leads with a next step booked",
              "The share of leads with a follow-up that is not overdue.", "contacts", "%", "All current leads",
              readings.follow_up, _assess_follow_up,
              "On track while at least 70% of leads have a next step, no more than 10% are overdue, and the "
              "share is no more than 5 points below the baseline."),
    MetricDef("source_attribution", "Leads with a known source",
              "The share of leads whose origin (search, referral, campaign…) is recorded.", "contacts", "%",
              "All current leads", readings.source_attribution, _assess_source,
              "On track while at least 80% of leads have a known source and the share is no more than 5 points "
              "below the baseline."),
    MetricDef("company_pipeline", "Open pipeline with a company",
              "The value of open deals by the company each belongs to, and the share that belongs to one.",
              "deals", "%", "Open deals now", readings.company_pipeline, _assess_company,
              "On track while at least 80% of the open pipeline's value belongs to a company and the share is "
              "no more than 5 points below the baseline.", needs=("companies",)),
    MetricDef("product_value", "Line-item value by product",
              "The net value of every current line item, by the product it sells.", "line_items", "money",
              "All current line items", commerce.product_value, _assess_products,
              "On track while line-item value stays above 90% of the baseline.", needs=("products",)),
)
BY_KEY = {m.key: m for m in METRICS}


def for_types(synced: set[str] | frozenset[str]) -> tuple[MetricDef, ...]:
    """The metrics of the registry a connection syncing these object types can measure."""
    return tuple(m for m in METRICS if m.applies(synced))


COUNTED = "records-"  # the key of a count of one kind of record (its object type follows)
COUNTS = ("leads", "records")  # units that are counts (shown without a currency)
_NAMED = {m.object_type for m in METRICS}


def counted(object_type: str, connection_id: int) -> MetricDef:
    """How many records of a kind with no metric of its own the client holds (tickets, a custom object's
    bookings…): its baseline and movement say whether records keep arriving."""
    label = object_label(object_type, connection_id)
    words = label.lower()

    def assess_count(r: Reading, baseline: Decimal | None) -> tuple[MetricStatus, str]:
        if baseline and r.value < baseline * Decimal("0.9"):
            drop = ((baseline - r.value) * 100 / baseline).quantize(Decimal("1"))
            return (MetricStatus.NEEDS_ATTENTION,
                    f"{label} on record are {drop}% below the baseline: check whether records were deleted in the CRM.")
        return MetricStatus.ON_TRACK, f"Keep recording new {words} in the CRM as they come in."

    return MetricDef(f"{COUNTED}{object_type}", f"{label} on record", f"How many {words} the CRM holds now.",
                     object_type, "records", f"All current {words}", readings.record_count(object_type), assess_count,
                     "On track while the count stays above 90% of the baseline.")


def for_connection(connection_id: int, synced: set[str] | frozenset[str]) -> tuple[MetricDef, ...]:
    """Every metric a connection syncing these object types can measure: the registry's, and a count of
    each other kind of record it syncs (in the sync order)."""
    return for_types(synced) + tuple(counted(t, connection_id) for t in sorted(synced, key=rank) if t not in _NAMED)


def of_connection(connection_id: int) -> tuple[MetricDef, ...]:
    """The metrics of what the connection syncs now (its enabled jobs)."""
    return for_connection(connection_id, readings.synced_types(connection_id))


def find(key: str, connection_id: int) -> MetricDef | None:
    """One metric by its key, a count of records included (None: no such metric)."""
    if key in BY_KEY:
        return BY_KEY[key]
    object_type = key[len(COUNTED):] if key.startswith(COUNTED) and len(key) <= 40 else ""
    if object_type and object_type not in _NAMED and object_type in readings.synced_types(connection_id):
        return counted(object_type, connection_id)
    return None


def assess(metric: MetricDef, reading: Reading, baseline: Decimal | None) -> tuple[MetricStatus, str]:
    if reading.total == 0:
        return MetricStatus.NO_DATA, "Nothing to measure yet: the first records arrive with the next sync."
    return metric.assess(reading, baseline)
