"""What every wizard step shares: loading the connection with the right check, who may edit it, and
rendering a step page (or one of its sections for an HTMX request) with the checklist beside it."""
from __future__ import annotations

from typing import Any

from flask import abort, request, url_for
from flask_login import current_user
from htmx_flask import make_response

from ...auth.access import connection_or_404
from ...auth.forms import ActionForm
from ...auth.policy import can
from ...choices import ConnectionStatus, Role, WizardStep
from ...connectors import registry
from ...htmx import is_partial, render
from ...models import IntegrationConnection
from .. import acceptance, checklist, design_standing, gate, readiness

EDITORS = (Role.ADMIN, Role.OWNER)
VIEWERS = (Role.ADMIN, Role.OWNER, Role.OPS)


def load(connection_id: int, edit: bool = False) -> IntegrationConnection:
    """The wizard's connection: viewed by any staff member, edited by its owner or an admin, and never
    edited once revoked."""
    conn = connection_or_404(connection_id, "edit" if edit else "view")
    if edit and conn.status == ConnectionStatus.REVOKED:
        abort(409, "The connection is revoked; create a new one to connect again.")
    return conn


def context(conn: IntegrationConnection, step: WizardStep, **extra: Any) -> dict[str, Any]:
    rows = checklist.items(conn)
    done, total = checklist.progress(rows)
    ctx = dict(connection=conn, connector=registry.get(conn.provider.key), step=step, steps=list(WizardStep), rows=rows,
               done=done, total=total,
               next_step=checklist.next_step(rows), pills=checklist.pills(rows), editable=can(current_user, "edit", conn),
               missing=gate.missing(conn), by_object=readiness.missing_by_object(conn),
               action_form=ActionForm(), message=None, message_tone="success",
               # read only where the go-live box shows them
               design_standing=lambda: design_standing.standing(conn), acceptance_checks=lambda: acceptance.evaluate(conn))
    ctx.update(extra)
    return ctx


# The panels that depend on a save listen for these (hx-trigger="… from:body"), so nothing is stale:
# the checklist with its gate summary and the step pills (checklistChanged), the monitor step's go-live
# box (gateChanged: not sent by the box's own answers, which would wipe their message), the header's
# status badge (statusChanged); the credentials card (accountChanged), the test history (testsChanged).
SAVED = ("checklistChanged", "statusChanged", "gateChanged")


def continue_if_asked(conn: IntegrationConnection, step: WizardStep, resp):
    """"Save and continue": after a successful save, go on to the next step without a page load
    (HX-Location fetches it as a boosted request: the whole page, swapped into the body, URL pushed)."""
    steps = list(WizardStep)
    if request.form.get("continue") != "1" or not is_partial() or step == steps[-1]:
        return resp
    url = url_for(f"wizard.{steps[steps.index(step) + 1].value}", connection_id=conn.id)
    return make_response(resp, location={"path": url, "target": "body", "headers": {"HX-Boosted": "true"}})


def page(conn: IntegrationConnection, step: WizardStep, partial: str, status: int = 200, changed: bool = False,
         events: tuple[str, ...] = (), **extra: Any):
    """The step page, or only `partial` for HTMX; `changed` (and `events`) tell the panels beside it to refresh."""
    wanted = list(SAVED if changed else ()) + list(events)
    return render(f"wizard/{step.value}.html", partial, status, hx_events=wanted or None, **context(conn, step, **extra))
