"""A client metric over associations: open pipeline by the company each deal belongs to, read from the
synced deals and their provider associations, checked against the sandbox portal's own records and links
(an independent computation), then after deals move between companies in HubSpot."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from console.extensions import db
from console.metrics.cards import build_cards
from console.metrics.snapshots import record_snapshots
from console.models import IntegrationSyncError, MetricSnapshot
from console.sandbox import SandboxConfig, SandboxServer
from console.sandbox import links as sandbox_links
from console.sandbox.schema import PIPELINES
from console.sync.inbound.runner import ensure_job
from console.wizard import readiness

from .. import factories
from ..reporting import sync

RATES = {"CAD": Decimal(1), "USD": Decimal("1.37")}  # the default mapping's conversion into CAD
CLOSED = {stage for _, stages in PIPELINES.values() for stage, _, _, closed in stages if closed == "true"}


def expected(portal, skipped: set[str]) -> tuple[Decimal, dict[str, tuple[int, Decimal]], int]:
    """From the portal itself: the share of open value with a company, each company's open deals and
    value (a deal under its first company by id), and the open deals with none."""
    by_company: dict[str, tuple[int, Decimal]] = {}
    without, linked_value, whole = 0, Decimal(0), Decimal(0)
    for deal in portal.all_active("deals"):
        if str(deal.id) in skipped or deal.props.get("dealstage") in CLOSED:
            continue
        amount = deal.props.get("amount")
        value = Decimal(str(amount)) * RATES[deal.props.get("deal_currency_code") or "CAD"] if amount else Decimal(0)
        whole += value
        companies = sandbox_links.associated(portal, "deals", deal.id, "companies")
        if not companies:
            without += 1
            continue
        first = min(str(c) for c in companies)
        name = portal.get("companies", int(first)).props["name"]
        n, total = by_company.get(name, (0, Decimal(0)))
        by_company[name] = (n + 1, total + value)
        linked_value += value
    return (linked_value * 100 / whole).quantize(Decimal("0.1")), by_company, without


def reading(conn) -> MetricSnapshot:
    record_snapshots(conn)
    return db.session.scalars(sa.select(MetricSnapshot).where(
        MetricSnapshot.connection_id == conn.id, MetricSnapshot.metric_key == "company_pipeline")
        .order_by(MetricSnapshot.id.desc())).first()


def check(conn, portal) -> MetricSnapshot:
    snap = reading(conn)
    skipped = set(db.session.scalars(sa.select(IntegrationSyncError.external_id).where(
        IntegrationSyncError.connection_id == conn.id, IntegrationSyncError.object_type == "deals")))
    share, by_company, without = expected(portal, skipped)
    assert abs(snap.value - share) <= Decimal("0.1"), (snap.value, share)  # a share to a tenth of a point
    rows = {r["label"]: (r["count"], Decimal(r["amount"])) for r in snap.breakdown["rows"]}
    top = sorted(by_company.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))[:10]
    for name, (n, value) in top:  # the ten largest by name, count and value (each deal's stored to the cent)
        assert rows[name][0] == n and abs(rows[name][1] - value) <= Decimal("0.01") * n, (name, rows[name], value)
    assert snap.breakdown["facts"]["without_company"] == without and rows.get("No company", (0,))[0] == without
    assert snap.breakdown["facts"]["companies"] == len(by_company) and len(by_company) > 10
    return snap


def test_open_pipeline_by_company_is_the_portals_own(app):
    with SandboxServer(SandboxConfig(contacts=20, deals=400, companies=60, seed=61, limits=False)) as sb:
        conn = factories.hubspot_connection(sb.url, sb.token)
        conn.status = "live"
        jobs = {}
        for object_type in ("companies", "deals"):
            jobs[object_type] = job = ensure_job(conn, object_type, enabled=True)
            job.depends_on = None
            db.session.commit()
            sync(job)
        portal = sb.state.portal
        before = check(conn, portal)
        assert 0 < before.value < 100 and before.unit == "%"

        # In HubSpot: the largest company's deals lose it, and the deals without one gain a company.
        largest = max(((n, v, name) for name, (n, v) in expected(portal, set())[1].items()))[2]
        company_id = next(c.id for c in portal.all_active("companies") if c.props["name"] == largest)
        moved = [d.id for d in portal.all_active("deals")
                 if company_id in sandbox_links.associated(portal, "deals", d.id, "companies")]
        for deal_id in moved:
            sandbox_links.unlink(portal, "deals", "companies", deal_id, company_id)
        orphans = [d.id for d in portal.all_active("deals")
                   if not sandbox_links.associated(portal, "deals", d.id, "companies")]
        for deal_id in orphans[:5]:
            sandbox_links.link(portal, "deals", "companies", deal_id, company_id)
        # Changing an association does not touch a deal's modification time (as in HubSpot): webhooks or
        # a full read bring it; here a full read, which replaces each deal's associations.
        sync(jobs["deals"], "backfill", full=True)
        after = check(conn, portal)
        assert after.value != before.value and moved

        card = next(c for c in build_cards(conn) if c.metric.key == "company_pipeline")
        assert card.current == after.value and card.rows and all(r["unit"] == "CAD" for r in card.rows)
        state = next(s for s in readiness.objects(conn) if s.object_type == "deals")
        assert "company_pipeline" in {m.key for m in state.metrics}  # the gate asks for its baseline


def test_a_connection_that_syncs_no_companies_is_not_measured_by_it(app, sandbox):
    conn = factories.hubspot_connection(sandbox.url, sandbox.token)
    conn.status = "live"
    job = ensure_job(conn, "deals", enabled=True)
    job.depends_on = None
    db.session.commit()
    sync(job)
    assert reading(conn) is None  # a share of 0 % would be false: its deals' companies are never read
    assert "company_pipeline" not in {c.metric.key for c in build_cards(conn)}
    state = next(s for s in readiness.objects(conn) if s.object_type == "deals")
    assert "company_pipeline" not in {m.key for m in state.metrics}
