"""One helper that records every mutation in the audit log (same transaction as the change)."""
from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import EventAdminAction
from .security.redact import redact


def client_address() -> str | None:
    """The caller's address (ProxyFix, when configured, has already applied X-Forwarded-For)."""
    return request.remote_addr if has_request_context() else None


def record(action: str, target: Any = None, actor: Any = None, **details: Any) -> EventAdminAction:
    """Add an audit row for `action` on `target`; the caller's commit makes it durable."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    row = EventAdminAction(
        actor_user_id=getattr(actor, "id", None),
        actor_email=getattr(actor, "email", None),
        action=action,
        target_type=getattr(target, "__tablename__", None) if target is not None else None,
        target_id=str(target.id) if getattr(target, "id", None) is not None else None,
        details=redact(details) if details else None,
        address=client_address(),
    )
    db.session.add(row)
    return row
