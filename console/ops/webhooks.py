"""Webhook events: filters, per-connection counts, groups (connection, type, status) with one action for a
whole group, paged events, detail, and retry / replay / resolve / ignore."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from ..auth.access import get_or_404, role_required
from ..auth.forms import ActionForm
from ..auth.policy import can
from ..choices import Role, WebhookStatus
from ..htmx import render
from ..mapping.masking import masked_payload
from ..models import EventWebhookEvent
from ..params import bounded, selected_ids
from ..refusals import Refused
from . import bp, services, triage

VIEW = (Role.ADMIN, Role.OPS, Role.OWNER)
ACT = (Role.ADMIN, Role.OPS)


def _filters() -> dict:
    args = request.args
    return {"status": args.get("status", "") if args.get("status", "") in WebhookStatus.values() else "",
            "event_type": args.get("type", "")[:60], "connection_id": args.get("connection_id", type=bounded()),
            "since_hours": args.get("since_hours", type=bounded(1, 24 * 366))}


def _list(status: int = 200, **extra):
    f = _filters()
    where = services.webhook_filter(**f)
    number = request.args.get("page", 1, type=bounded(1, 100_000))
    events, total = triage.event_page(where, number)
    return render("ops/webhooks.html", "partials/ops/webhook_results.html", status,
                  groups=triage.event_groups(services.webhook_filter(**{**f, "status": ""}), f["status"]),
                  events=events, total=total, page=number, page_size=triage.PAGE_SIZE,
                  counts=services.webhook_counts(), filters=request.args,
                  names=services.connection_names(), statuses=WebhookStatus.options(), action_form=ActionForm(),
                  message=extra.pop("message", None), message_tone=extra.pop("message_tone", "success"), **extra)


@bp.get("/webhooks")
@role_required(*VIEW)
def webhooks():
    return _list()


@bp.post("/webhooks/group")
@role_required(*ACT)
def webhook_group():
    """Replay, ignore (one reason) or resolve every unfinished event of one connection, type and status."""
    form = request.form
    raw = form.get("connection_id", "")
    try:
        connection_id = None if raw == "" else bounded()(raw)
    except ValueError:
        return _list(422, message="Choose a group.", message_tone="error")
    action = form.get("action", "")
    try:
        n = triage.act_on_event_group(connection_id, form.get("event_type", "")[:60], form.get("status", "")[:16],
                                      action, current_user, form.get("reason", "")[:500])
    except Refused as refused:
        return _list(422, message=str(refused), message_tone="error")
    done = {"replay": "queued for normalization again", "ignore": "ignored", "resolve": "marked resolved"}[action]
    return _list(message=f"{n} event(s) {done}.")


@bp.get("/webhooks/<int:event_id>")
@role_required(*VIEW)
def webhook_detail(event_id: int):
    event = get_or_404(EventWebhookEvent, event_id)
    raw = masked_payload(event) if can(current_user, "administer") else None
    return render("ops/webhook_detail.html", "partials/ops/webhook_detail.html", event=event, raw=raw,
                  names=services.connection_names(), action_form=ActionForm(), message=None, message_tone="success")


@bp.post("/webhooks/replay")
@role_required(*ACT)
def webhook_replay():
    """Replay one or many (checked) events: they go back to the normalizer with a fresh attempt budget."""
    ids = selected_ids(request.form.getlist("ids"))
    try:
        n = services.replay_events(ids, current_user)
    except Refused as refused:
        return _list(422, message=str(refused), message_tone="error")
    return _list(message=f"{n} event(s) queued for normalization again.")


@bp.post("/webhooks/<int:event_id>/<action>")
@role_required(*ACT)
def webhook_action(event_id: int, action: str):
    event = get_or_404(EventWebhookEvent, event_id)
    reason = request.form.get("reason", "")[:500]
    message, tone, status = None, "success", 200
    try:
        if action == "ignore":
            services.ignore_event(event, current_user, reason)
            message = "Ignored."
        elif action == "resolve":
            services.resolve_event(event, current_user, reason)
            message = "Marked resolved."
        elif action in ("retry", "replay"):
            services.replay_events([event.id], current_user)
            message = "Queued for normalization again."
        else:
            return "", 404
    except Refused as refused:
        message, tone, status = str(refused), "error", 422
    raw = masked_payload(event) if can(current_user, "administer") else None
    return render("ops/webhook_detail.html", "partials/ops/webhook_detail.html", status, event=event, raw=raw,
                  names=services.connection_names(), action_form=ActionForm(), message=message, message_tone=tone)
