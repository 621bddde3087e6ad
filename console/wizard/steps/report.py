"""Step 5, report: the client-safe explanation and next action, the baseline (captured only from a
complete successful run; the report page's baseline section does the capture), and the portal cards
exactly as the client will see them."""
from __future__ import annotations

from flask_login import current_user

from ...auth.access import role_required
from ...choices import WizardStep
from ...extensions import db
from ...metrics import baselines
from ...metrics.cards import build_cards, freshness
from ...portal.pages import url_builder
from ...reports.forms import BaselineForm, RebaselineForm
from .. import bp
from ..forms import ReportTextForm
from ..services import save_report_text, sync_baseline_item
from .common import EDITORS, VIEWERS, load, page

PARTIAL = "partials/wizard/report_text.html"


def _extra(conn, form: ReportTextForm | None = None) -> dict:
    if form is None:
        form = ReportTextForm(formdata=None)
        form.explanation.data, form.next_action.data = conn.client_explanation, conn.next_action
    return dict(form=form, cards=build_cards(conn), fresh=freshness(conn), portal_url=url_builder(conn.client_id),
                active=baselines.active(conn.id), history=baselines.history(conn.id),
                runs=baselines.candidate_runs(conn.id), refusal=baselines.refusal, baseline_form=BaselineForm(),
                rebaseline_form=RebaselineForm())


@bp.get("/<int:connection_id>/wizard/report")
@role_required(*VIEWERS)
def report(connection_id: int):
    conn = load(connection_id)
    sync_baseline_item(conn)  # a baseline captured on the report page ticks this step's item
    db.session.commit()
    return page(conn, WizardStep.REPORT, PARTIAL, **_extra(conn))


@bp.post("/<int:connection_id>/wizard/report")
@role_required(*EDITORS)
def report_save(connection_id: int):
    conn = load(connection_id, edit=True)
    form = ReportTextForm()
    if form.validate_on_submit():
        save_report_text(conn, current_user, form.explanation.data, form.next_action.data)
        return page(conn, WizardStep.REPORT, PARTIAL, changed=True, message="Saved: the portal shows this now.",
                    **_extra(conn))
    return page(conn, WizardStep.REPORT, PARTIAL, 422, **_extra(conn, form))
