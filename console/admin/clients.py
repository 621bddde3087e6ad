"""Clients: list, create, rename inline, archive/restore."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for

from ..answers import beside
from ..auth.access import get_or_404, role_required
from ..auth.forms import ActionForm
from ..choices import Role
from ..extensions import db
from ..htmx import is_partial, render, trigger
from ..models import Client
from ..refusals import Refused
from . import bp
from .forms import ClientForm
from .services import create_client, rename_client, set_client_archived


def _clients() -> list[Client]:
    return list(db.session.scalars(sa.select(Client).order_by(Client.archived_at.isnot(None), Client.name)))


def _row(client: Client, status: int = 200):
    return render_template("partials/admin/client_row.html", client=client, action_form=ActionForm()), status


@bp.get("/clients")
@role_required(Role.ADMIN)
def clients():
    return render("admin/clients.html", "partials/admin/client_table.html",
                  clients=_clients(), form=ClientForm(), action_form=ActionForm())


@bp.post("/clients")
@role_required(Role.ADMIN)
def client_create():
    form = ClientForm()
    if form.validate_on_submit():
        try:
            client = create_client(form.name.data)
            if not is_partial():
                flash(f"Client {client.name} created.", "success")
                return redirect(url_for("admin.clients"), code=303)
            resp = render("admin/clients.html", "partials/admin/client_form.html",
                          clients=_clients(), form=ClientForm(formdata=None), action_form=ActionForm())
            return trigger(resp, "clientsChanged")
        except Refused as err:
            beside(form, err, "name")
    return render("admin/clients.html", "partials/admin/client_form.html", status=422,
                  clients=_clients(), form=form, action_form=ActionForm())


@bp.get("/clients/<int:client_id>")
@role_required(Role.ADMIN)
def client_row(client_id: int):
    return _row(get_or_404(Client, client_id))


def _edit(client: Client, form, status: int = 200):
    if is_partial():
        return render_template("partials/admin/client_edit.html", client=client, form=form), status
    return render_template("admin/edit_row.html", title=f"Rename {client.name}", back=url_for("admin.clients"),
                           row_template="partials/admin/client_edit.html", client=client, form=form), status


@bp.get("/clients/<int:client_id>/edit")
@role_required(Role.ADMIN)
def client_edit(client_id: int):
    client = get_or_404(Client, client_id)
    return _edit(client, ClientForm(obj=client))


@bp.post("/clients/<int:client_id>")
@role_required(Role.ADMIN)
def client_update(client_id: int):
    client = get_or_404(Client, client_id)
    form = ClientForm()
    if form.validate_on_submit():
        try:
            rename_client(client, form.name.data)
            if not is_partial():
                flash(f"Client renamed to {client.name}.", "success")
                return redirect(url_for("admin.clients"), code=303)
            return _row(client)
        except Refused as err:
            beside(form, err, "name")
    return _edit(client, form, 422)


@bp.post("/clients/<int:client_id>/archive")
@role_required(Role.ADMIN)
def client_archive(client_id: int):
    client = get_or_404(Client, client_id)
    set_client_archived(client, not client.archived)
    if not is_partial():
        flash(f"Client {client.name} {'archived' if client.archived else 'restored'}.", "success")
        return redirect(url_for("admin.clients"), code=303)
    return _row(client)
