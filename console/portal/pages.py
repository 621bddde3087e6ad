"""The portal's pages, shared by the client's own portal and the staff "view as client" preview, so the
preview is exactly what the client sees. Every lookup is scoped to one client id."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import Response, abort, url_for

from ..choices import CLIENT_FACING_STATUSES, ConnectionStatus
from ..extensions import db
from ..htmx import render
from ..metrics import charts, notes
from ..metrics.baselines import active
from ..metrics.cards import build_cards, cards_csv, freshness
from ..metrics.definitions import find
from ..metrics.snapshots import TREND_DAYS, series
from ..models import Client, DesignVersion, IntegrationConnection, IntegrationNormalizedEvent
from ..models.base import utcnow

UrlFor = Callable[..., str]


def url_builder(preview_client_id: int | None) -> UrlFor:
    """Links inside portal pages stay inside the portal, or inside the preview of the same client."""
    def portal_url(name: str, **values) -> str:
        if preview_client_id is None:
            return url_for(f"portal.{name}", **values)
        return url_for(f"portal_preview.{name}", client_id=preview_client_id, **values)
    return portal_url


# Nothing reaches a client before go-live: the portal shows a connection that is live, or paused after
# it went live. Staff previewing the client also see staged connections (their first complete sync is
# stored, the gate not passed yet), each labelled "Preview: not visible to the client".


def client_facing(conn: IntegrationConnection) -> bool:
    return conn.client_visible and conn.went_live_at is not None and conn.status in CLIENT_FACING_STATUSES


def visible_connections(client_id: int, preview: bool = False) -> list[IntegrationConnection]:
    query = sa.select(IntegrationConnection).where(IntegrationConnection.client_id == client_id,
                                                   IntegrationConnection.client_visible.is_(True))
    if preview:
        query = query.where(IntegrationConnection.status != ConnectionStatus.REVOKED.value)
    else:
        query = query.where(IntegrationConnection.status.in_(CLIENT_FACING_STATUSES),
                            IntegrationConnection.went_live_at.isnot(None))
    return list(db.session.scalars(query.order_by(IntegrationConnection.name)))


def visible_connection_or_404(client_id: int, connection_id: int, preview: bool = False) -> IntegrationConnection:
    """Another client's connection, one not shared with the client, or one not live yet is a plain 404."""
    conn = db.session.get(IntegrationConnection, connection_id)
    if conn is None or conn.client_id != client_id or not conn.client_visible:
        abort(404)
    if not preview and not client_facing(conn):
        abort(404)
    return conn


def index_page(client_id: int, portal_url: UrlFor, preview: bool) -> Response:
    client = db.session.get(Client, client_id) or abort(404)
    connections = visible_connections(client_id, preview)
    return render("portal/index.html", "partials/portal/connection_list.html", client=client,
                  connections=connections, cards={c.id: build_cards(c) for c in connections},
                  fresh={c.id: freshness(c) for c in connections}, portal_url=portal_url, preview=preview,
                  client_facing=client_facing)


def recent_updates(connection_id: int, limit: int = 10) -> list[IntegrationNormalizedEvent]:
    """Client-safe report lines (manual imports so far): each normalized event's summary line only."""
    return list(db.session.scalars(sa.select(IntegrationNormalizedEvent).where(
        IntegrationNormalizedEvent.connection_id == connection_id, IntegrationNormalizedEvent.source_kind == "csv",
        IntegrationNormalizedEvent.event_type == "import_completed",
    ).order_by(IntegrationNormalizedEvent.id.desc()).limit(limit)))


def connection_page(client_id: int, connection_id: int, portal_url: UrlFor, preview: bool) -> Response:
    conn = visible_connection_or_404(client_id, connection_id, preview)
    return render("portal/connection.html", "partials/portal/connection_detail.html", connection=conn,
                  client=conn.client, cards=build_cards(conn), fresh=freshness(conn),
                  notes=notes.published(conn.id), updates=recent_updates(conn.id), portal_url=portal_url,
                  preview=preview, client_facing=client_facing, signed_design=_signed(conn) is not None)


def _signed(conn) -> DesignVersion | None:
    return db.session.scalar(sa.select(DesignVersion).where(
        DesignVersion.connection_id == conn.id, DesignVersion.signed_off_at.is_not(None))
        .order_by(DesignVersion.number.desc()).limit(1))


def design_page(client_id: int, connection_id: int, portal_url: UrlFor, preview: bool) -> Response:
    """The integration design the client signed off (its client-safe copy: generic words, no secrets,
    no samples); the newest signed version, or a plain note when none is signed."""
    conn = visible_connection_or_404(client_id, connection_id, preview)
    signed = _signed(conn)
    return render("portal/design.html", "portal/design.html", connection=conn, client=conn.client, version=signed,
                  doc=signed.client_content if signed else None, portal_url=portal_url, preview=preview)


def chart_svg(client_id: int, connection_id: int, metric_key: str, preview: bool = False) -> Response:
    return chart_response(visible_connection_or_404(client_id, connection_id, preview), metric_key)


def chart_response(conn: IntegrationConnection, metric_key: str) -> Response:
    """The metric's trend over the last 30 days as an SVG image (the caller has checked access)."""
    metric = find(metric_key, conn.id) or abort(404)
    points = series(conn.id, metric.key, utcnow() - timedelta(days=TREND_DAYS))
    base = active(conn.id).get(metric.key)
    unit = points[-1].unit if points else metric.unit
    chart = charts.build(metric.title, points, base.value if base else None, lambda v: charts.axis_label(v, unit), unit)
    resp = Response(charts.render_svg(chart), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def export_csv(client_id: int, connection_id: int, preview: bool = False) -> Response:
    conn = visible_connection_or_404(client_id, connection_id, preview)
    body = "\ufeff" + cards_csv(conn, build_cards(conn))  # the BOM makes spreadsheet apps read UTF-8
    stamp = utcnow().strftime("%Y%m%d")
    resp = Response(body, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="report-{conn.id}-{stamp}.csv"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
