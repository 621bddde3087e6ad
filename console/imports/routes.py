"""Manual CSV import pages: upload, map headers (with suggestions and saved templates), preview, import
with a progress bar, download row errors. Admins, ops and the connection's owner may import."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, render_template, request, url_for
from flask_login import current_user

from ..auth.access import connection_or_404, get_or_404, role_required
from ..auth.forms import ActionForm
from ..choices import ImportStatus, ObjectType, Role
from ..config import upload_limit_text
from ..connectors.manual_csv.reader import CsvRejected
from ..extensions import db
from ..htmx import hx_redirect, render
from ..mapping.targets import TARGETS
from ..models import CsvImport, IntegrationConnection, IntegrationSyncRun
from ..refusals import Refused
from . import bp, service
from . import mapping as csv_mapping
from . import run as import_run

ROLES = (Role.ADMIN, Role.OWNER, Role.OPS)
OBJECT_TYPES = tuple(ObjectType.values())
FINAL = (ImportStatus.SUCCEEDED, ImportStatus.PARTIAL, ImportStatus.FAILED)


def _import(conn: IntegrationConnection, import_id: int) -> CsvImport:
    imp = get_or_404(CsvImport, import_id)
    if imp.connection_id != conn.id:
        abort(404)
    return imp


def _list(conn, status: int = 200, message: str | None = None):
    imports = db.session.scalars(sa.select(CsvImport).where(CsvImport.connection_id == conn.id)
                                 .order_by(CsvImport.id.desc()).limit(50)).all()
    return render("imports/index.html", "partials/imports/upload.html", status, connection=conn, imports=imports,
                  object_types=OBJECT_TYPES, action_form=ActionForm(), message=message, message_tone="error",
                  limit=upload_limit_text())


@bp.get("/")
@role_required(*ROLES)
def index(connection_id: int):
    return _list(connection_or_404(connection_id, "import"))


@bp.post("/")
@role_required(*ROLES)
def upload(connection_id: int):
    conn = connection_or_404(connection_id, "import")
    if not ActionForm().validate_on_submit():
        abort(400)
    file = request.files.get("file")
    object_type = request.form.get("object_type", "contacts")
    if file is None or not file.filename:
        return _list(conn, 422, "Choose a CSV file to upload.")
    if object_type not in OBJECT_TYPES:
        return _list(conn, 422, "Choose which records the file holds.")
    try:
        with file.stream:  # a big upload is spooled to a temporary file; close it here
            data = file.read()
        imp = service.upload(conn, file.filename, data, object_type, current_user)
    except (CsvRejected, Refused) as refused:
        db.session.rollback()
        return _list(conn, 422, str(refused))
    return hx_redirect(url_for("imports.detail", connection_id=conn.id, import_id=imp.id))


def _detail(conn, imp, status: int = 200, **extra):
    run = db.session.get(IntegrationSyncRun, imp.run_id) if imp.run_id else None
    suggestions = csv_mapping.suggest(imp.object_type, imp.header)
    template = csv_mapping.matching_template(conn, imp.header)
    extra.setdefault("message", None)
    return render("imports/detail.html", "partials/imports/detail.html", status, connection=conn, imp=imp, run=run,
                  targets=TARGETS[imp.object_type], suggestions=suggestions, template=template, final=FINAL,
                  problems=csv_mapping.problems(imp.object_type, imp.mapping or {}, imp.header),
                  check=service.current_check(imp) if imp.status == ImportStatus.UPLOADED else None,
                  action_form=ActionForm(), message_tone=extra.pop("message_tone", "error"), **extra)


@bp.get("/<int:import_id>")
@role_required(*ROLES)
def detail(connection_id: int, import_id: int):
    conn = connection_or_404(connection_id, "import")
    return _detail(conn, _import(conn, import_id))


@bp.post("/<int:import_id>/mapping")
@role_required(*ROLES)
def save_mapping(connection_id: int, import_id: int):
    """Save the header mapping (optionally as a template) and check the whole file as a dry run."""
    conn = connection_or_404(connection_id, "import")
    imp = _import(conn, import_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if imp.status != ImportStatus.UPLOADED:
        return _detail(conn, imp, 422, message="This import already ran; upload a new file to change the mapping.")
    fields = {t.name: request.form.get(f"field::{t.name}", "") for t in TARGETS[imp.object_type]}
    service.save_mapping(conn, imp, request.form.get("id_column", ""), fields,
                         request.form.get("template_name", "").strip(), current_user)
    try:
        service.check(conn, imp)
    except Refused as refused:
        return _detail(conn, imp, 422, message=str(refused))
    return _detail(conn, imp)


@bp.post("/<int:import_id>/run")
@role_required(*ROLES)
def run(connection_id: int, import_id: int):
    conn = connection_or_404(connection_id, "import")
    imp = _import(conn, import_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        service.queue(conn, imp, current_user)
    except Refused as refused:
        return _detail(conn, imp, 422, message=str(refused))
    return _detail(conn, imp, message="Import queued: it runs in the background.", message_tone="success")


@bp.get("/<int:import_id>/status")
@role_required(*ROLES)
def status(connection_id: int, import_id: int):
    conn = connection_or_404(connection_id, "import")
    imp = _import(conn, import_id)
    run = db.session.get(IntegrationSyncRun, imp.run_id) if imp.run_id else None
    return render_template("partials/imports/progress.html", connection=conn, imp=imp, run=run, final=FINAL,
                           polled=True)


@bp.get("/<int:import_id>/errors.csv")
@role_required(*ROLES)
def errors(connection_id: int, import_id: int):
    conn = connection_or_404(connection_id, "import")
    imp = _import(conn, import_id)
    run = db.session.get(IntegrationSyncRun, imp.run_id) if imp.run_id else None
    if run is None:
        abort(404)
    resp = Response("\ufeff" + import_run.errors_csv(run), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="import-{imp.id}-errors.csv"'
    return resp
