"""Step 3, mapping: which objects are synced and how often, the field table with ranked suggestions,
picklist (enum) tables showing every provider option, and a validation that says exactly what is missing."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template, request
from flask_login import current_user
from htmx_flask import make_response

from ... import intake_reading
from ...answers import beside
from ...auth.access import role_required
from ...auth.forms import ActionForm
from ...choices import PUSHING, ConnectionStatus, WizardStep
from ...connectors.base import ConnectorError
from ...extensions import db
from ...mapping import editor, objects
from ...mapping.service import governed_fields
from ...mapping.suggest import suggest
from ...mapping.targets import label_of, target, targets_of, transforms_for
from ...mapping.validate import validate
from ...mapping.vocabulary import of_connection
from ...models import IntegrationSyncJob
from ...refusals import Refused
from ...sync import catalogue, schema_drift
from ...sync.outbound.pusher import CONSOLE_ID_PROPERTY, match_keys, match_label
from .. import bp, more_objects, prefill, proposals, samples
from .. import mapping_changes as changes
from ..forms import DRIFT_POLICIES, OBJECT_TYPES, FieldForm, JobsForm
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
            getattr(form, f"{object_type}_direction").data = job.direction or "in"
            getattr(form, f"{object_type}_after").data = job.depends_on or ""
            if (match := getattr(form, f"{object_type}_match", None)) is not None:
                match.data = ",".join(match_keys(object_type, job.match_on))
    form.webhook_events.data = next((j.webhook_events for j in jobs.values() if j.webhook_events), "")
    form.blackout.data = intake_reading.blackout_text(next((j.blackout for j in jobs.values() if j.blackout), None))
    prefill.jobs(conn, form, jobs)
    return form


def _sections(conn) -> tuple[list[dict], str | None]:
    """Per synced object: provider properties, mapping rows, enum tables, problems. Provider trouble is
    reported, not raised: the page still shows what is stored. Reading it writes nothing: the default
    mappings are created when the sync jobs are saved (`mapping_jobs`)."""
    sections, error = [], None
    records = intake_reading.answers(conn.id).get("topology_records", "")  # the intake's systems of record
    for object_type, job in sorted(_jobs(conn).items()):
        if not job.enabled:
            continue
        try:
            props = catalogue.typed(conn, object_type)
        except ConnectorError as exc:
            error = f"The provider's fields could not be read: {exc}"
            props = []
        stages = []
        if object_type == "deals" and props:
            try:
                stages = catalogue.stages(conn)
            except ConnectorError as exc:
                error = f"The provider's deal stages could not be read: {exc}"
        sections.append({"object_type": object_type, "label": objects.label(object_type, conn.id),
                         "leads": object_type in objects.CORE,
                         "targets": targets_of(object_type, conn.id), "stages": stages,
                         "pushes": job.direction in PUSHING, "id_property": CONSOLE_ID_PROPERTY,
                         "match": [match_label(k) for k in match_keys(object_type, job.match_on)],
                         "rows": (rows := editor.rows(conn.id, object_type)), "enums": editor.enum_rows(conn.id, object_type),
                         "records": prefill.records_of(conn, object_type, rows, records),
                         "problems": validate(conn.id, object_type, props) if props else [],
                         "properties": {p["name"]: p for p in props}, **_drift(conn.id, object_type, rows, props)})
    sections.sort(key=lambda section: objects.rank(section["object_type"]))
    return sections, error


def _drift(connection_id: int, object_type: str, rows: dict, props: list[dict]) -> dict:
    """The schema changes to show: breaking ones by the source property they break (marked on its rows),
    the harmless ones listed, a new property with the unmapped field it would fill best ("map it")."""
    changes = schema_drift.recent(connection_id, object_type)
    breaking: dict[str, list] = {}
    for d in changes:
        if d.breaking and d.resolved_at is None:
            breaking.setdefault(d.property, []).append(d)
    harmless = []
    for d in changes:
        if d.breaking:
            continue
        best = None
        prop = next((p for p in props if p["name"] == d.property), None) if d.kind == "added" else None
        if prop is not None and d.resolved_at is None:  # the field it would fill best, an unmapped one first
            ranked = [(suggest(t, [prop], limit=1, synonyms=of_connection(connection_id).synonyms)[0].score,
                        t.name not in rows, t)
                      for t in targets_of(object_type, connection_id)]
            best = max(ranked, key=lambda r: (r[1] and r[0] >= 50, r[0]), default=(0, False, None))[2]
        harmless.append((d, best))
    return {"breaking": breaking, "harmless": harmless}


def render_step(conn, status: int = 200, changed: bool = False, **extra):
    sections, error = _sections(conn)
    withheld, masked = governed_fields(conn.id)
    extra.setdefault("jobs_form", _jobs_form(conn))
    extra["offers"], extra["offers_error"] = more_objects.offers(conn)
    return page(conn, WizardStep.MAPPING, PARTIAL, status, changed, sections=sections, provider_error=error,
                edit=extra.pop("edit", None), withheld=withheld, masked=masked, drift_policies=DRIFT_POLICIES, **extra)


@bp.get("/<int:connection_id>/wizard/mapping")
@role_required(*VIEWERS)
def mapping(connection_id: int):
    return render_step(load(connection_id))


@bp.post("/<int:connection_id>/wizard/mapping/jobs")
@role_required(*EDITORS)
def mapping_jobs(connection_id: int):
    conn = load(connection_id, edit=True)
    form = JobsForm()
    if not form.validate_on_submit():
        return render_step(conn, 422, jobs_form=form)
    if not any(getattr(form, o).data for o in OBJECT_TYPES):
        form.contacts.errors.append("Choose at least one kind of record to sync.")
        return render_step(conn, 422, jobs_form=form)
    chosen = {o: (bool(getattr(form, o).data), getattr(form, f"{o}_minutes").data) for o in OBJECT_TYPES}
    directions = {o: getattr(form, f"{o}_direction").data for o in OBJECT_TYPES}
    window = intake_reading.blackout(form.blackout.data) if (form.blackout.data or "").strip() else None
    match = {o: f.data for o in OBJECT_TYPES if (f := getattr(form, f"{o}_match", None)) is not None}
    unread = changes.save_jobs(conn, current_user, _jobs(conn), chosen, form.webhook_events.data or "", directions,
                               window, match=match, after=form.after())
    message = ("Sync jobs saved; they run on their schedules." if conn.status == ConnectionStatus.LIVE else
               "Sync jobs saved. Nothing syncs on schedule until the connection goes live.")
    if unread:
        message += (f" The provider's fields of {', '.join(unread)} could not be read, so their default mappings "
                    "were not created: save the sync jobs again once the connection check passes.")
    return render_step(conn, changed=True, message_at="jobs", message=message)


def _field_form(conn, object_type: str, name: str, formdata: bool = False) -> FieldForm:
    tgt = target(object_type, name, conn.id) or abort(404)
    props = catalogue.typed(conn, object_type)
    ranked = suggest(tgt, props, limit=len(props), synonyms=of_connection(conn.id).synonyms)
    form = FieldForm() if formdata else FieldForm(formdata=None)
    inferred = {p["name"]: p["inferred"] for p in props if p.get("inferred")}
    form.source.choices = [(s.name, f"{'★ ' if i < 3 else ''}{s.label} ({s.name}) · match {s.score}/100"
                            + (f" · text that {inferred[s.name].words}" if s.name in inferred else ""))
                           for i, s in enumerate(ranked)]
    form.transform.choices = [(t, t) for t in transforms_for(tgt)]
    row = editor.rows(conn.id, object_type).get(name)
    if not formdata:
        asked = next((s for s in ranked if s.name == request.args.get("source")), None)  # "map it" names one
        first = asked or (ranked[0] if ranked and not row else None)
        form.source.data = first.name if first else (row.source_field if row else None)
        form.transform.data = (first.transform if first else row.transform if row else None)
        form.required.data, form.sensitive.data = (row.required, row.sensitive) if row else (tgt.required, False)
        if row:
            form.direction.data, form.system_of_record.data, form.condition.data = \
                row.direction, row.system_of_record, row.condition
        prefill.system_of_record(conn, object_type, tgt, form.source.data, form)
    form.suggestions = ranked[:5]
    form.sample_suggestions = samples.for_target(conn.id, tgt)
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
                           tgt=target(object_type, name, conn.id), form=form)


@bp.post("/<int:connection_id>/wizard/mapping/<object_type>/<name>")
@role_required(*EDITORS)
def mapping_field_save(connection_id: int, object_type: str, name: str):
    conn = load(connection_id, edit=True)
    try:
        form = _field_form(conn, object_type, name, formdata=True)
    except ConnectorError as exc:
        return render_step(conn, 502, message=f"The provider's fields could not be read, so nothing was changed: {exc}",
                       message_tone="error")
    if form.validate_on_submit():
        try:
            flow = editor.Flow(form.direction.data, form.system_of_record.data, form.condition.data or "")
            stored = changes.set_field(conn, object_type, name, form.source.data, form.transform.data,
                                       form.required.data, form.sensitive.data, current_user, flow)
            message = f"{label_of(object_type, name, conn.id)} mapped."
            if stored:
                message += (f" The {stored:,} stored {object_type} were mapped by the old rule: a reconcile and repair "
                            f"is queued to re-map them from {conn.provider.name} (see Reconcile).")
            resp = render_step(conn, changed=True, message_at=f"field-{object_type}-{name}", message=message)
            return make_response(resp, retarget=f"#mapping-{conn.id}", reswap="outerHTML")
        except Refused as refused:
            beside(form, refused, "source")
        except ConnectorError as exc:
            db.session.rollback()
            form.source.errors.append(f"The provider's fields could not be read, so nothing was changed: {exc}")
    return render_template("partials/wizard/mapping_row_edit.html", connection=conn, object_type=object_type,
                           tgt=target(object_type, name, conn.id), form=form), 422


@bp.post("/<int:connection_id>/wizard/mapping/<object_type>/<name>/remove")
@role_required(*EDITORS)
def mapping_field_remove(connection_id: int, object_type: str, name: str):
    conn = load(connection_id, edit=True)
    try:
        changes.remove_field(conn, object_type, name, current_user)
    except Refused as refused:
        db.session.rollback()
        return render_step(conn, 422, message=str(refused), message_tone="error")
    return render_step(conn, changed=True, message=f"{name} unmapped.")


@bp.post("/<int:connection_id>/wizard/mapping/<object_type>/id-property")
@role_required(*EDITORS)
def mapping_id_property(connection_id: int, object_type: str):
    """Create, in the CRM, the unique property our id is written to (deals upsert on it)."""
    conn = load(connection_id, edit=True)
    if object_type not in OBJECT_TYPES:
        abort(404)
    try:
        changes.create_id_property(conn, object_type, current_user)
    except ConnectorError as exc:
        return render_step(conn, 502, message=f"The property could not be created: {exc}", message_tone="error",
                       message_at=f"id-property-{object_type}")
    return render_step(conn, changed=True, message_at=f"id-property-{object_type}",
                   message=f"The {CONSOLE_ID_PROPERTY} property now exists on HubSpot's {object_type}.")


@bp.post("/<int:connection_id>/wizard/mapping/<object_type>/enums/<field>")
@role_required(*EDITORS)
def mapping_enums(connection_id: int, object_type: str, field: str):
    conn = load(connection_id, edit=True)
    values = {key[len("target::"):]: (request.form[key], f"ignore::{key[len('target::'):]}" in request.form)
              for key in request.form if key.startswith("target::")}
    changed = changes.save_enums(conn, object_type, field, values, current_user)
    return render_step(conn, changed=True, message=f"Picklist {field}: {changed} option(s) changed.")


@bp.post("/<int:connection_id>/wizard/mapping/proposal")
@role_required(*EDITORS)
def mapping_proposal_use(connection_id: int):
    """"Use this" beside an intake proposal that writes to the CRM: applied as the intake says it now, audited."""
    conn = load(connection_id, edit=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        message = proposals.use(conn, current_user, request.form.get("use", ""))
    except Refused as err:
        db.session.rollback()
        return render_step(conn, 409, message=err.message, message_tone="error", message_at="proposal")
    return render_step(conn, changed=True, message=message, message_at="proposal")


@bp.post("/<int:connection_id>/wizard/mapping/drift-policy")
@role_required(*EDITORS)
def mapping_drift_policy(connection_id: int):
    conn = load(connection_id, edit=True)
    policy = request.form.get("drift_policy", "")
    if not ActionForm().validate_on_submit() or policy not in DRIFT_POLICIES:
        return render_step(conn, 422, message_at="drift", message="Choose what a run does when the provider's schema "
                       "breaks the mapping.", message_tone="error")
    changes.set_drift_policy(conn, policy, current_user)
    return render_step(conn, changed=True, message_at="drift", message=f"Saved: {DRIFT_POLICIES[policy]}.")


@bp.post("/<int:connection_id>/wizard/mapping/confirm")
@role_required(*EDITORS)
def mapping_confirm(connection_id: int):
    conn = load(connection_id, edit=True)
    sections, error = _sections(conn)
    problems = [p for s in sections for p in s["problems"]]
    if error or not sections or problems:
        reason = error or ("Choose the records to sync first." if not sections else
                           f"The mapping is incomplete: {len(problems)} problem(s) below.")
        return render_step(conn, 422, message=reason, message_tone="error", message_at="confirm")
    changes.confirm(conn, current_user, [s["object_type"] for s in sections])
    return continue_if_asked(conn, WizardStep.MAPPING, render_step(
        conn, changed=True, message_at="confirm",
        message="Mapping confirmed: every required field and picklist option is covered."))
