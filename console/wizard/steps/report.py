"""Step 5, report: the client-safe explanation and next action, the baseline (captured only from a
complete successful run; the report page's baseline section does the capture), and the portal cards
exactly as the client will see them."""
from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user
from htmx_flask import make_response

from ...auth.access import role_required
from ...auth.forms import ActionForm
from ...auth.policy import can
from ...choices import Role, WizardStep
from ...metrics import baselines
from ...metrics.cards import build_cards, freshness
from ...portal.pages import url_builder
from ...refusals import Refused
from ...reports.forms import BaselineForm, RebaselineForm
from ...sync.proof import testbatch
from ...sync.proof.verdict import judge
from .. import bp, readiness
from ..forms import ReportTextForm, WaiveForm
from ..readiness import FINAL
from ..services import save_report_text
from .common import EDITORS, SAVED, VIEWERS, context, continue_if_asked, load, page

PARTIAL = "partials/wizard/report_text.html"


def _metrics_state(conn) -> list[tuple]:
    """(metric, captured | not_applicable | missing, words) for each metric of an enabled object type."""
    active, marks, out = baselines.active(conn.id), readiness.not_applicable(conn), []
    for state in readiness.objects(conn):
        for metric in state.metrics:
            if metric.key in active:
                out.append((metric, "captured", baselines.source_words(active[metric.key])))
            elif metric.key in marks:
                out.append((metric, "not_applicable", marks[metric.key].get("reason", "")))
            else:
                out.append((metric, "missing", ""))
    return out


def _first_sync(conn) -> dict:
    runs = readiness.first_sync_runs(conn)
    return dict(sync_runs=runs, settling_ids={r.id for r in runs if readiness.capture_pending(conn, r)},
                metrics_state=_metrics_state(conn), judge=judge,
                outcomes=testbatch.outcomes, final=FINAL, may_test=can(current_user, "edit", conn),
                waive_form=WaiveForm(formdata=None))


def _extra(conn, form: ReportTextForm | None = None) -> dict:
    if form is None:
        form = ReportTextForm(formdata=None)
        form.explanation.data, form.next_action.data = conn.client_explanation, conn.next_action
    return dict(form=form, cards=build_cards(conn), fresh=freshness(conn), portal_url=url_builder(conn.client_id),
                active=baselines.active(conn.id), history=baselines.history(conn.id),
                runs=baselines.candidate_runs(conn.id), refusal=baselines.refusal, baseline_form=BaselineForm(),
                rebaseline_form=RebaselineForm(), **_first_sync(conn))


@bp.get("/<int:connection_id>/wizard/report")
@role_required(*VIEWERS)
def report(connection_id: int):
    conn = load(connection_id)
    return page(conn, WizardStep.REPORT, PARTIAL, **_extra(conn))


def _first_sync_block(conn, status: int = 200, changed: bool = False, **extra):
    ctx = context(conn, WizardStep.REPORT, **_first_sync(conn), **extra)
    body = render_template("partials/wizard/first_sync.html", **ctx)
    return make_response(body, status, trigger=dict.fromkeys(SAVED, True) if changed else None)


@bp.get("/<int:connection_id>/wizard/report/metrics-needed")
@role_required(*VIEWERS)
def metrics_needed(connection_id: int):
    """The metrics that need a baseline before go-live; refreshed when a baseline is captured."""
    conn = load(connection_id)
    return render_template("partials/wizard/metrics_needed.html", **context(conn, WizardStep.REPORT, **_first_sync(conn)))


PANELS = {"cards": "partials/reports/cards.html", "baselines": "partials/reports/baselines.html"}


@bp.get("/<int:connection_id>/wizard/report/panels/<name>")
@role_required(*VIEWERS)
def report_panel(connection_id: int, name: str):
    """One of the report's panels, fetched again when background work settles (runSettled: a run became
    final, or its failures were ignored) or a baseline is captured, so none disagrees with the live box."""
    if name not in PANELS:
        abort(404)
    conn = load(connection_id)
    return render_template(PANELS[name], **context(conn, WizardStep.REPORT, **_extra(conn)))


@bp.post("/<int:connection_id>/wizard/first-sync")
@role_required(*EDITORS)
def first_sync(connection_id: int):
    """Queue the first complete sync for the dispatcher (never run inside the request)."""
    conn = load(connection_id, edit=True)
    if not ActionForm().validate_on_submit():
        return _first_sync_block(conn, 400, message="The form expired; reload the page.", message_tone="error")
    try:
        runs = testbatch.queue_first_sync(conn, readiness.enabled_jobs(conn), current_user)
    except Refused as refused:
        return _first_sync_block(conn, 422, message=str(refused), message_tone="error")
    return _first_sync_block(conn, changed=True, message=f"Queued: {', '.join(r.object_type for r in runs)}. "
                             "The records are stored staged; the client sees nothing until go-live.")


@bp.post("/<int:connection_id>/wizard/metrics/<metric_key>/applicability")
@role_required(Role.ADMIN)
def metric_applicability(connection_id: int, metric_key: str):
    """An admin marks a metric not applicable for this client (or applicable again), with a reason."""
    conn = load(connection_id, edit=True)
    if not ActionForm().validate_on_submit():
        return _first_sync_block(conn, 400, message="The form expired; reload the page.", message_tone="error")
    try:
        readiness.mark_not_applicable(conn, metric_key, request.form.get("reason", ""), current_user,
                                      applicable=request.form.get("applicable") == "1")
    except Refused as refused:
        return _first_sync_block(conn, 422, message=str(refused), message_tone="error")
    return _first_sync_block(conn, changed=True, message="Saved.")


@bp.post("/<int:connection_id>/wizard/report")
@role_required(*EDITORS)
def report_save(connection_id: int):
    conn = load(connection_id, edit=True)
    form = ReportTextForm()
    if form.validate_on_submit():
        save_report_text(conn, current_user, form.explanation.data, form.next_action.data)
        return continue_if_asked(conn, WizardStep.REPORT, page(
            conn, WizardStep.REPORT, PARTIAL, changed=True,
            message="Saved: the portal shows it from go-live (staff see it now in “view as client”).", **_extra(conn)))
    return page(conn, WizardStep.REPORT, PARTIAL, 422, **_extra(conn, form))
