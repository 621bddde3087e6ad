"""Step 4, test: a dry-run test batch (default 25 records) queued for the dispatcher; its status block
polls until the run is final, then lists every record with its bucket and reason."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from ...auth.access import deny, get_or_404, role_required
from ...choices import Role, RunKind, RunStatus, WizardStep
from ...extensions import db
from ...models import IntegrationSyncJob, IntegrationSyncRun
from ...sync import testbatch
from .. import bp
from ..forms import TestBatchForm
from .common import VIEWERS, can_edit, load, page

PARTIAL = "partials/wizard/test.html"
FINAL = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED)


def may_test(conn) -> bool:
    return current_user.role == Role.OPS or can_edit(conn)


def _jobs(conn) -> list[IntegrationSyncJob]:
    return list(db.session.scalars(sa.select(IntegrationSyncJob).where(
        IntegrationSyncJob.connection_id == conn.id).order_by(IntegrationSyncJob.object_type)))


def _form(conn, formdata: bool = False) -> TestBatchForm:
    form = TestBatchForm() if formdata else TestBatchForm(formdata=None)
    form.object_type.choices = [(j.object_type, j.object_type.title()) for j in _jobs(conn)]
    return form


def _history(conn) -> list[IntegrationSyncRun]:
    return list(db.session.scalars(sa.select(IntegrationSyncRun).where(
        IntegrationSyncRun.connection_id == conn.id, IntegrationSyncRun.kind == RunKind.TEST_BATCH.value,
    ).order_by(IntegrationSyncRun.id.desc()).limit(20)))


def _render(conn, status: int = 200, **extra):
    extra.setdefault("form", _form(conn))
    extra.setdefault("run", None)
    return page(conn, WizardStep.TEST, PARTIAL, status, extra.pop("changed", False), history=_history(conn),
                final=FINAL, outcomes=testbatch.outcomes, may_test=may_test(conn), **extra)


@bp.get("/<int:connection_id>/wizard/test")
@role_required(*VIEWERS)
def test(connection_id: int):
    conn = load(connection_id)
    latest = next(iter(_history(conn)), None)
    return _render(conn, run=latest)


@bp.post("/<int:connection_id>/wizard/test")
@role_required(*VIEWERS)
def test_run(connection_id: int):
    """Ops, admins and the connection's owner may start a test batch (it writes no business record)."""
    conn = load(connection_id)
    if not may_test(conn):
        deny()
    form = _form(conn, formdata=True)
    if form.validate_on_submit():
        job = next(j for j in _jobs(conn) if j.object_type == form.object_type.data)
        try:
            run = testbatch.queue(conn, job, form.size.data, current_user)
            return _render(conn, form=form, run=run, message=f"Test batch #{run.id} queued.")
        except testbatch.TestBatchRefused as refused:
            form.size.errors.append(str(refused))
    return _render(conn, 422, form=form)


@bp.get("/<int:connection_id>/wizard/test/runs/<int:run_id>")
@role_required(*VIEWERS)
def test_status(connection_id: int, run_id: int):
    """The status block: polls itself every second until the run is final (then the checklist refreshes)."""
    conn = load(connection_id)
    run = get_or_404(IntegrationSyncRun, run_id)
    if run.connection_id != conn.id or run.kind != RunKind.TEST_BATCH:
        return "", 404
    body = render_template("partials/wizard/test_run.html", connection=conn, run=run, final=FINAL,
                           outcomes=testbatch.outcomes)
    if run.status not in FINAL:
        return body
    # final: the history table below catches up in the same answer (out-of-band swap)
    body += render_template("partials/wizard/test_history.html", connection=conn, history=_history(conn), oob=True)
    return body, 200, {"HX-Trigger": "checklistChanged"}
