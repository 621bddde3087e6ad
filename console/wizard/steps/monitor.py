"""Step 6, monitor: stale-sync multiple, rate-limit pressure, failed-webhook and duplicate-delivery
thresholds, the freshness objective, data-quality thresholds, the owner's notification channel, portal visibility,
the failure path and the manual fallback; then go-live."""
from __future__ import annotations

from flask_login import current_user

from ...auth.access import role_required
from ...choices import WizardStep
from .. import bp, prefill
from ..forms import MonitorForm, ReasonForm
from ..services import Thresholds, save_monitor
from .common import EDITORS, VIEWERS, load, page

PARTIAL = "partials/wizard/monitor_form.html"


def _form(conn) -> MonitorForm:
    form = MonitorForm(formdata=None)
    form.stale_multiple.data, form.pressure_pct.data = conn.stale_multiple, conn.rate_limit_pressure_pct
    form.failed_webhooks.data, form.channel.data = conn.failed_webhook_threshold, conn.notify_channel
    form.duplicate_events.data = conn.duplicate_event_pct
    form.freshness_target.data, form.freshness_objective.data = conn.freshness_target_seconds, conn.freshness_objective_pct
    form.completeness.data, form.duplicate_records.data = conn.quality_completeness_pct, conn.quality_duplicate_pct
    form.unresolved.data = conn.quality_unresolved_pct
    form.target.data = conn.notify_target or (conn.owner.email if conn.owner else "")
    form.visible.data, form.visibility_note.data = conn.client_visible, conn.client_visibility_note
    form.failure_path.data, form.manual_fallback.data = conn.failure_path, conn.manual_fallback
    prefill.monitor(conn, form)
    return form


@bp.get("/<int:connection_id>/wizard/monitor")
@role_required(*VIEWERS)
def monitor(connection_id: int):
    conn = load(connection_id)
    return page(conn, WizardStep.MONITOR, PARTIAL, form=_form(conn), reason_form=ReasonForm(formdata=None))


@bp.post("/<int:connection_id>/wizard/monitor")
@role_required(*EDITORS)
def monitor_save(connection_id: int):
    conn = load(connection_id, edit=True)
    form = MonitorForm()
    if form.validate_on_submit():
        save_monitor(conn, current_user, Thresholds(
            stale_multiple=form.stale_multiple.data, pressure_pct=form.pressure_pct.data,
            failed_webhooks=form.failed_webhooks.data, duplicate_events=form.duplicate_events.data,
            freshness_target=form.freshness_target.data, freshness_objective=form.freshness_objective.data,
            completeness=form.completeness.data, duplicate_records=form.duplicate_records.data,
            unresolved=form.unresolved.data),
            channel=form.channel.data, target=form.target.data, visible=form.visible.data,
            visibility_note=form.visibility_note.data, failure_path=form.failure_path.data,
            manual_fallback=form.manual_fallback.data)
        # the go-live box below changes with these settings: it comes in the same answer (out of band), not
        # by a refresh that could land after a quick click on "Go live" and wipe its answer
        return page(conn, WizardStep.MONITOR, "partials/wizard/monitor_saved.html",
                    events=("checklistChanged", "statusChanged"), form=form, message="Monitoring saved.",
                    reason_form=ReasonForm(formdata=None))
    return page(conn, WizardStep.MONITOR, PARTIAL, 422, form=form, reason_form=ReasonForm(formdata=None))
