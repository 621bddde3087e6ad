"""Step 4, test: a dry-run test batch per object type (default 25 records; or one per enabled object)
queued for the dispatcher; each status block polls until its run is final, then shows the verdict, the
failures grouped by class with what to do, and every record with its bucket and reason."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template
from flask_login import current_user
from htmx_flask import make_response

from ...auth.access import deny, get_or_404, role_required
from ...auth.forms import ActionForm
from ...auth.policy import can
from ...choices import RunKind, RunStatus, WizardStep
from ...extensions import db
from ...mapping.objects import label as object_label
from ...models import IntegrationSyncRun
from ...refusals import Refused
from ...sync.proof import testbatch
from ...sync.proof.verdict import judge
from .. import bp, readiness
from ..forms import TestBatchForm, WaiveForm
from ..services import queue_outbound_dry_run
from .common import EDITORS, SAVED, VIEWERS, load, page

PARTIAL = "partials/wizard/test.html"
FINAL = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED)


ALL = "__all__"


def _form(conn, formdata: bool = False) -> TestBatchForm:
    form = TestBatchForm() if formdata else TestBatchForm(formdata=None)
    jobs = readiness.enabled_jobs(conn)
    form.object_type.choices = ([(ALL, "All enabled, one batch each")] if len(jobs) > 1 else []) + [
        (j.object_type, object_label(j.object_type, conn.id)) for j in jobs]
    return form


def _history(conn) -> list[IntegrationSyncRun]:
    return list(db.session.scalars(sa.select(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.kind == RunKind.TEST_BATCH.value,
    ).order_by(IntegrationSyncRun.id.desc()).limit(20)))


def _latest_runs(conn) -> list[IntegrationSyncRun]:
    """The newest test batch of each enabled object type (what the gate reads)."""
    return [s.test for s in readiness.objects(conn) if s.test is not None]


def _outbound(conn) -> list[readiness.ObjectState]:
    """The enabled objects that push console-side changes, each with its newest outbound dry run."""
    return [s for s in readiness.objects(conn) if s.pushes]


def _render(conn, status: int = 200, **extra):
    extra.setdefault("form", _form(conn))
    extra.setdefault("runs", _latest_runs(conn))
    extra.setdefault("outbound", _outbound(conn))
    extra.setdefault("action_form", ActionForm())
    return page(conn, WizardStep.TEST, PARTIAL, status, extra.pop("changed", False), extra.pop("events", ()),
                history=_history(conn), final=FINAL, outcomes=testbatch.outcomes, judge=judge,
                may_test=can(current_user, "test", conn), waive_form=WaiveForm(formdata=None), **extra)


@bp.get("/<int:connection_id>/wizard/test")
@role_required(*VIEWERS)
def test(connection_id: int):
    return _render(load(connection_id))


@bp.get("/<int:connection_id>/wizard/test/history")
@role_required(*VIEWERS)
def test_history(connection_id: int):
    conn = load(connection_id)
    return render_template("partials/wizard/test_history.html", connection=conn, history=_history(conn))


@bp.post("/<int:connection_id>/wizard/test")
@role_required(*VIEWERS)
def test_run(connection_id: int):
    """Ops, admins and the connection's owner may start a test batch (it writes no business record)."""
    conn = load(connection_id)
    if not can(current_user, "test", conn):
        deny()
    form = _form(conn, formdata=True)
    if form.validate_on_submit():
        was = conn.status
        jobs = [j for j in readiness.enabled_jobs(conn) if form.object_type.data in (ALL, j.object_type)]
        try:
            runs = testbatch.queue(conn, jobs, form.size.data, current_user)
        except Refused as refused:
            form.size.errors.append(str(refused))
        else:
            words = ", ".join(f"#{r.id} ({r.object_type})" for r in runs)
            message = f"Test batch {words} queued: the dispatcher runs it within a few seconds."
            if was != conn.status:
                message += " The connection moved from draft to testing (audited); nothing syncs on schedule before go-live."
            return _render(conn, form=form, runs=runs, message=message, changed=True, events=("testsChanged",))
    return _render(conn, 422, form=form)


@bp.post("/<int:connection_id>/wizard/test/outbound/<object_type>")
@role_required(*VIEWERS)
def test_outbound(connection_id: int, object_type: str):
    """An outbound dry run of one object type, queued for the dispatcher: per pending console-side change,
    what would be written to the CRM and why, or why not; nothing is written."""
    conn = load(connection_id)
    if not can(current_user, "test", conn):
        deny()
    form = ActionForm()
    state = next((s for s in _outbound(conn) if s.object_type == object_type), None)
    if state is None:
        abort(404)
    if not form.validate_on_submit():
        return _render(conn, 400, message="The form expired; reload the page and try again.", message_tone="error")
    job = next(j for j in readiness.enabled_jobs(conn) if j.object_type == object_type)
    run = queue_outbound_dry_run(conn, job, current_user)
    return _render(conn, message=f"Outbound dry run #{run.id} ({object_type}) queued: the dispatcher runs it within "
                                 "a few seconds.", changed=True, events=("testsChanged",))


@bp.get("/<int:connection_id>/wizard/test/runs/<int:run_id>")
@role_required(*VIEWERS)
def test_status(connection_id: int, run_id: int):
    """The status block: polls itself every second until the run is final (then the checklist refreshes)."""
    conn = load(connection_id)
    run = get_or_404(IntegrationSyncRun, run_id)
    if run.connection_id != conn.id or run.kind not in (RunKind.TEST_BATCH, RunKind.BACKFILL, RunKind.OUTBOUND):
        return "", 404
    if run.kind == RunKind.OUTBOUND:
        body = render_template("partials/wizard/outbound_run.html", connection=conn, run=run, final=FINAL)
        return body if run.status not in FINAL else make_response(
            body, trigger=dict.fromkeys(SAVED + ("testsChanged", "runSettled"), True))
    settling = readiness.capture_pending(conn, run)  # final, but its baselines are still being captured
    body = render_template("partials/wizard/test_run.html", connection=conn, run=run, final=FINAL,
                           outcomes=testbatch.outcomes, judge=judge, may_test=can(current_user, "test", conn),
                           waive_form=WaiveForm(formdata=None), action_form=ActionForm(),
                           editable=can(current_user, "edit", conn), settling_ids={run.id} if settling else ())
    if run.status not in FINAL or settling:
        return body
    # final: the history, the checklist, the gate and the pills catch up (they listen for these events)
    return make_response(body, trigger=dict.fromkeys(SAVED + ("testsChanged", "baselinesChanged", "runSettled"), True))


@bp.post("/<int:connection_id>/wizard/runs/<int:run_id>/ignore")
@role_required(*EDITORS)
def ignore_values(connection_id: int, run_id: int):
    """Ignore, with a reason, the records of a run that failed on one source value (an invalid email…).
    Answers with the run's block (a test batch) or the report step's first-sync block."""
    conn = load(connection_id, edit=True)
    run = get_or_404(IntegrationSyncRun, run_id)
    if run.connection_id != conn.id:
        abort(404)
    form, message, tone, status = WaiveForm(), None, "success", 200
    if form.validate_on_submit():
        try:
            n, captured = readiness.waive_values(conn, run, form.code.data, form.reason.data, current_user)
            message = f"{n} record(s) ignored with your reason; they still fail and are still counted."
            if captured:
                message += f" Baselines captured from run #{run.id}: {len(captured)} metric(s)."
        except Refused as refused:
            db.session.rollback()
            message, tone, status = str(refused), "error", 422
    else:
        message, tone, status = "; ".join(e for errs in form.errors.values() for e in errs), "error", 422
    body = render_template("partials/wizard/test_run.html", connection=conn, run=run, final=FINAL,
                           outcomes=testbatch.outcomes, judge=judge, may_test=can(current_user, "test", conn), editable=True,
                           waive_form=WaiveForm(formdata=None), action_form=ActionForm(), message=message,
                           message_tone=tone)
    settled = dict.fromkeys(SAVED + ("baselinesChanged", "runSettled"), True)
    return make_response(body, status, trigger=settled if status == 200 else None)
