"""Step 3, mapping: which objects are synced and how often, the field table with ranked suggestions,
picklist (enum) tables showing every provider option, and a validation that says exactly what is missing."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template, request
from flask_login import current_user
from htmx_flask import make_response

from ... import audit
from ...answers import beside
from ...auth.access import role_required
from ...choices import WizardStep
from ...connectors.base import ConnectorError
from ...extensions import db
from ...mapping import editor
from ...mapping.service import ensure_default_mappings
from ...mapping.suggest import suggest
from ...mapping.targets import TARGETS, TRANSFORMS_FOR_KIND, target
from ...mapping.validate import validate
from ...models import IntegrationSyncJob
from ...sync import catalogue
from ...sync.runner import ensure_job
from .. import bp, checklist
from ..forms import OBJECT_TYPES, FieldForm, JobsForm
from .common import EDITORS, VIEWERS, continue_if_asked, load, page

PARTIAL = "partials/wizard/mapping.html"


def _jobs(conn) -> dict[str, IntegrationSyncJob]:
    return {j.object_type: j for j in db.session.scalars(
        sa.select(IntegrationSyncJob).where(IntegrationSyncJob.connection_id == conn.id))}


def _jobs_form(conn) -> JobsForm:
    form, jobs = JobsForm(formdata=None), _jobs(conn)
    for object_type in OBJECT_TYPES:
        job = jobs.get(object_type)
        getattr(form, object_type).data = bool(job and job.enabled)
        if job:
            getattr(form, f"{object_type}_minutes").data = max(1, job.schedule_seconds // 60)
    form.webhook_events.data = next((j.webhook_events for j in jobs.values() if j.webhook_events), "")
    return form


def _sections(conn) -> tuple[list[dict], str | None]:
    """Per synced object: provider properties, mapping rows, enum tables, problems. Provider trouble is
    reported, not raised: the page still shows what is stored. Reading it writes nothing: the default
    mappings are created when the sync jobs are saved (`mapping_jobs`)."""
    sections, error = [], None
    for object_type, job in sorted(_jobs(conn).items()):
        if not job.enabled:
            continue
        try:
            props = catalogue.properties(conn, object_type)
        except ConnectorError as exc:
            error = f"The provider's fields could not be read: {exc}"
            props = []
        stages = []
        if object_type == "deals" and props:
            try:
                stages = catalogue.stages(conn)
            except ConnectorError as exc:
                error = f"The provider's deal stages could not be read: {exc}"
        sections.append({"object_type": object_type, "targets": TARGETS[object_type], "stages": stages,
                         "rows": editor.rows(conn.id, object_type), "enums": editor.enum_rows(conn.id, object_type),
                         "problems": validate(conn.id, object_type, props) if props else [],
                         "properties": {p["name"]: p for p in props}})
    return sections, error


def _render(conn, status: int = 200, changed: bool = False, **extra):
    sections, error = _sections(conn)
    extra.setdefault("jobs_form", _jobs_form(conn))
    return page(conn, WizardStep.MAPPING, PARTIAL, status, changed, sections=sections, provider_error=error,
                edit=extra.pop("edit", None), **extra)


@bp.get("/<int:connection_id>/wizard/mapping")
@role_required(*VIEWERS)
def mapping(connection_id: int):
    return _render(load(connection_id))


@bp.post("/<int:connection_id>/wizard/mapping/jobs")
@role_required(*EDITORS)
def mapping_jobs(connection_id: int):
    conn = load(connection_id, edit=True)
    form = JobsForm()
    if not form.validate_on_submit():
        return _render(conn, 422, jobs_form=form)
    if not any(getattr(form, o).data for o in OBJECT_TYPES):
        form.contacts.errors.append("Choose at least one kind of record to sync.")
        return _render(conn, 422, jobs_form=form)
    for object_type in OBJECT_TYPES:
        enabled, job = getattr(form, object_type).data, _jobs(conn).get(object_type)
        if enabled or job:
            job = job or ensure_job(conn, object_type)
            job.enabled, job.schedule_seconds = enabled, getattr(form, f"{object_type}_minutes").data * 60
            job.webhook_events = (form.webhook_events.data or "").strip()
            if job.depends_on and not getattr(form, job.depends_on).data:
                job.depends_on = None  # do not wait for an object that is not synced
    checklist.prove(conn, "jobs_named", True, user=current_user)
    checklist.prove(conn, "fields_mapped", False, "objects changed")
    audit.record("mapping.jobs_saved", conn, current_user, enabled=[o for o in OBJECT_TYPES if getattr(form, o).data])
    db.session.commit()
    unread = _create_defaults(conn, [o for o in OBJECT_TYPES if getattr(form, o).data])
    message = "Sync jobs saved. Nothing syncs on schedule until the connection goes live."
    if unread:
        message += (f" The provider's fields of {', '.join(unread)} could not be read, so their default mappings "
                    "were not created: save the sync jobs again once the connection check passes.")
    return _render(conn, changed=True, message_at="jobs", message=message)


def _create_defaults(conn, object_types: list[str]) -> list[str]:
    """The default field and picklist mappings of each chosen object that has none yet (committed by the
    service); returns the objects whose provider fields could not be read."""
    unread = []
    for object_type in object_types:
        try:
            props = catalogue.properties(conn, object_type)
        except ConnectorError:
            unread.append(object_type)
            continue
        if props:
            ensure_default_mappings(conn.id, object_type, props)
    return unread


def _field_form(conn, object_type: str, name: str, formdata: bool = False) -> FieldForm:
    tgt = target(object_type, name) or abort(404)
    props = catalogue.properties(conn, object_type)
    ranked = suggest(tgt, props, limit=len(props))
    form = FieldForm() if formdata else FieldForm(formdata=None)
    form.source.choices = [(s.name, f"{'★ ' if i < 3 else ''}{s.label} ({s.name}) · {s.score}")
                           for i, s in enumerate(ranked)]
    form.transform.choices = [(t, t) for t in TRANSFORMS_FOR_KIND[tgt.kind]]
    row = editor.rows(conn.id, object_type).get(name)
    if not formdata:
        form.source.data = row.source_field if row else (ranked[0].name if ranked else None)
        form.transform.data = row.transform if row else (ranked[0].transform if ranked else None)
        form.required.data, form.sensitive.data = (row.required, row.sensitive) if row else (tgt.required, False)
    form.suggestions = ranked[:5]
    return form


@bp.get("/<int:connection_id>/wizard/mapping/<object_type>/<name>/edit")
@role_required(*EDITORS)
def mapping_field_edit(connection_id: int, object_type: str, name: str):
    conn = load(connection_id, edit=True)
    try:
        form = _field_form(conn, object_type, name)
    except ConnectorError as exc:
        abort(502, f"The provider's fields could not be read: {exc}")
    return render_template("partials/wizard/mapping_row_edit.html", connection=conn, object_type=object_type,
                           tgt=target(object_type, name), form=form)


@bp.post("/<int:connection_id>/wizard/mapping/<object_type>/<name>")
@role_required(*EDITORS)
def mapping_field_save(connection_id: int, object_type: str, name: str):
    conn = load(connection_id, edit=True)
    try:
        form = _field_form(conn, object_type, name, formdata=True)
    except ConnectorError as exc:
        return _render(conn, 502, message=f"The provider's fields could not be read, so nothing was changed: {exc}",
                       message_tone="error")
    if form.validate_on_submit():
        try:
            editor.set_field(conn, object_type, name, form.source.data, form.transform.data, form.required.data,
                             form.sensitive.data, catalogue.properties(conn, object_type), current_user)
            checklist.prove(conn, "fields_mapped", False, "mapping edited")
            db.session.commit()
            resp = _render(conn, changed=True, message_at=f"field-{object_type}-{name}",
                           message=f"{target(object_type, name).label} mapped.")
            return make_response(resp, retarget=f"#mapping-{conn.id}", reswap="outerHTML")
        except editor.MappingRefused as refused:
            beside(form, refused, "source")
        except ConnectorError as exc:
            db.session.rollback()
            form.source.errors.append(f"The provider's fields could not be read, so nothing was changed: {exc}")
    return render_template("partials/wizard/mapping_row_edit.html", connection=conn, object_type=object_type,
                           tgt=target(object_type, name), form=form), 422


@bp.post("/<int:connection_id>/wizard/mapping/<object_type>/<name>/remove")
@role_required(*EDITORS)
def mapping_field_remove(connection_id: int, object_type: str, name: str):
    conn = load(connection_id, edit=True)
    try:
        editor.remove_field(conn, object_type, name, current_user)
    except editor.MappingRefused as refused:
        return _render(conn, 422, message=str(refused), message_tone="error")
    checklist.prove(conn, "fields_mapped", False, "mapping edited")
    db.session.commit()
    return _render(conn, changed=True, message=f"{name} unmapped.")


@bp.post("/<int:connection_id>/wizard/mapping/<object_type>/enums/<field>")
@role_required(*EDITORS)
def mapping_enums(connection_id: int, object_type: str, field: str):
    conn = load(connection_id, edit=True)
    values = {key[len("target::"):]: (request.form[key], f"ignore::{key[len('target::'):]}" in request.form)
              for key in request.form if key.startswith("target::")}
    changed = editor.save_enums(conn, object_type, field, values, current_user)
    checklist.prove(conn, "fields_mapped", False, "picklist edited")
    db.session.commit()
    return _render(conn, changed=True, message=f"Picklist {field}: {changed} option(s) changed.")


@bp.post("/<int:connection_id>/wizard/mapping/confirm")
@role_required(*EDITORS)
def mapping_confirm(connection_id: int):
    conn = load(connection_id, edit=True)
    sections, error = _sections(conn)
    problems = [p for s in sections for p in s["problems"]]
    if error or not sections or problems:
        reason = error or ("Choose the records to sync first." if not sections else
                           f"The mapping is incomplete: {len(problems)} problem(s) below.")
        return _render(conn, 422, message=reason, message_tone="error", message_at="confirm")
    checklist.prove(conn, "fields_mapped", True, f"{len(sections)} object type(s) validated", current_user)
    audit.record("mapping.confirmed", conn, current_user, objects=[s["object_type"] for s in sections])
    db.session.commit()
    return continue_if_asked(conn, WizardStep.MAPPING, _render(
        conn, changed=True, message_at="confirm",
        message="Mapping confirmed: every required field and picklist option is covered."))
