"""What a client sees per metric: the card (source, period, unit, baseline, current, change, status,
next action), the freshness of the data, and the CSV export of the cards. Only client-safe words and
numbers leave this module: no raw payloads, provider ids, property names or internal error text."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ..choices import ConnectionStatus, MetricStatus
from ..extensions import db
from ..models import IntegrationConnection, IntegrationSyncJob, MetricBaseline, MetricSnapshot
from ..models.base import utcnow
from . import baselines
from .definitions import COUNTS, MetricDef, assess, of_connection
from .readings import Reading
from .snapshots import TREND_DAYS, latest_snapshots, series


@dataclass(frozen=True)
class Freshness:
    last_success_at: datetime | None
    stale: bool
    threshold: timedelta | None


@dataclass
class Card:
    metric: MetricDef
    source: str
    unit: str
    current: Decimal | None
    as_of: datetime | None
    baseline: MetricBaseline | None
    status: MetricStatus
    next_action: str
    rows: list[dict]
    chart_text: str = ""  # the chart's text alternative: its readings in words

    @property
    def change(self) -> Decimal | None:
        if self.current is None or self.baseline is None:
            return None
        return self.current - self.baseline.value

    @property
    def status_words(self) -> str:
        """Why the badge says what it says: the change and the rule, so the badge and the chart agree."""
        if self.status not in (MetricStatus.ON_TRACK, MetricStatus.NEEDS_ATTENTION) or not self.metric.rule:
            return ""
        change = format_change(self)
        if self.change is not None and self.unit not in ("%",) and self.baseline and self.baseline.value:
            change += f" ({self.change * 100 / self.baseline.value:+.1f}%)"
        since = "No baseline yet. " if self.change is None else f"Change since the baseline: {change}. "
        return f"{since}{self.metric.rule}"


def freshness(connection: IntegrationConnection, now: datetime | None = None) -> Freshness:
    """Stale when any sync feeding the metrics has not succeeded within its schedule × the monitor multiple."""
    now = now or utcnow()
    jobs = db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == connection.id,
        IntegrationSyncJob.object_type.in_({m.object_type for m in of_connection(connection.id)}))).all()
    if not jobs:
        return Freshness(None, False, None)
    multiple = max(1, connection.stale_multiple or 3)
    stale, threshold = False, None
    for job in jobs:
        limit = timedelta(seconds=job.schedule_seconds * multiple)
        threshold = max(threshold or limit, limit)
        if job.last_success_at is None or job.last_success_at < now - limit:
            stale = True
    successes = [j.last_success_at for j in jobs if j.last_success_at]
    last = min(successes) if len(successes) == len(jobs) else None
    # Jobs run on their schedule only once live: a draft or testing connection is never "stale" (nobody
    # is alerted about it, and no client sees it).
    scheduled = connection.status not in (ConnectionStatus.DRAFT.value, ConnectionStatus.TESTING.value,
                                          ConnectionStatus.REVOKED.value)
    return Freshness(last, stale and scheduled, threshold)


def build_cards(connection: IntegrationConnection, now: datetime | None = None) -> list[Card]:
    fresh = freshness(connection, now)
    latest = latest_snapshots(connection.id)
    kept = baselines.active(connection.id)
    cards = []
    for metric in of_connection(connection.id):
        snap: MetricSnapshot | None = latest.get(metric.key)
        base = kept.get(metric.key)
        if snap is None:
            reading, status, action = None, MetricStatus.NO_DATA, "Values appear after the first complete sync."
        else:
            reading = Reading.from_breakdown(snap.value, snap.breakdown)
            status, action = assess(metric, reading, base.value if base else None)
            if fresh.stale:
                status = MetricStatus.STALE
                action = "Your account team is restoring the data feed; these values may be out of date."
        unit = snap.unit if snap else (base.unit if base else metric.unit)
        trend = series(connection.id, metric.key, (now or utcnow()) - timedelta(days=TREND_DAYS)) if snap else []
        cards.append(Card(metric, ", ".join(reading.sources) if reading and reading.sources else "CRM", unit,
                          snap.value if snap else None, snap.captured_at if snap else None, base, status, action,
                          reading.rows if reading else [],
                          chart_text(metric.title, trend, base.value if base else None, unit)))
    return cards


def chart_text(title: str, points: list[MetricSnapshot], baseline: Decimal | None, unit: str) -> str:
    """The trend chart in words, for a screen reader and for anyone who cannot read the picture: the same
    readings the chart draws (charts.measured)."""
    from .charts import measured

    points = measured(points)
    if not points:
        return f"{title}: no readings in the last {TREND_DAYS} days yet."
    values = [Decimal(p.value) for p in points]
    first, last = points[0], points[-1]
    text = (f"{title} over the last {TREND_DAYS} days, {len(points)} readings: "
            f"{format_value(first.value, unit)} on {first.captured_at:%d %b}, "
            f"{format_value(last.value, unit)} on {last.captured_at:%d %b}; "
            f"lowest {format_value(min(values), unit)}, highest {format_value(max(values), unit)}")
    if baseline is not None:
        text += f"; the baseline, drawn as a dashed line, is {format_value(baseline, unit)}"
    return text + "."


def format_value(value: Decimal | str | None, unit: str) -> str:
    if value is None:
        return "—"
    value = Decimal(value)
    if unit == "%":
        return f"{value:,.1f}%"
    if unit in COUNTS:
        return f"{value:,.0f}"
    return f"{unit} {value:,.0f}"


def format_change(card: Card) -> str:
    change = card.change
    if change is None:
        return "—"
    if card.unit == "%":
        return f"{change:+,.1f} pts"
    if card.unit in COUNTS:
        return f"{change:+,.0f}"
    return f"{'+' if change >= 0 else '-'}{card.unit} {abs(change):,.0f}"


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


PLAIN_NUMBER = re.compile(r"[+-]?(\d[\d,]*(\.\d*)?|\.\d+)")


def safe_cell(value: object) -> str:
    """Neutralise spreadsheet formula injection: a text cell that starts like a formula (=, +, -, @, tab,
    carriage return) is quoted, unless it is a plain number ("-3.5", "+12"), which no spreadsheet runs."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def change_number(card: Card) -> str:
    """The change as a signed plain number in the card's unit (percentage points for a %), for exports."""
    change = card.change
    if change is None:
        return ""
    places = 1 if card.unit == "%" else 0
    return f"{change:+.{places}f}"


def cards_csv(connection: IntegrationConnection, cards: list[Card]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Connection", "Metric", "Source", "Period", "Unit", "Baseline", "Baseline captured",
                     "Current value", "Change (points for %)", "Status", "Next action", "As of (UTC)", "Breakdown",
                     "Count"])
    for card in cards:  # one row per card, then one per line of its breakdown (all of them, not the first 8)
        writer.writerow([safe_cell(v) for v in (
            connection.name, card.metric.title, card.source, card.metric.period, card.unit,
            card.baseline.value if card.baseline else "", _date(card.baseline.created_at if card.baseline else None),
            card.current if card.current is not None else "", change_number(card), card.status.label,
            card.next_action, _date(card.as_of), "", "")])
    for card in cards:
        for row in card.rows:
            writer.writerow([safe_cell(v) for v in (
                connection.name, card.metric.title, card.source, card.metric.period, row.get("unit") or card.unit, "", "",
                row.get("amount", ""), "", "", "", _date(card.as_of), row.get("label", ""), row.get("count", ""))])
    return out.getvalue()


def _date(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""
