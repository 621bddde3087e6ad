"""Server-side authorization used by every route and partial.

Every view carries `allowed_roles` (set by `role_required` or `public`), so a test can walk the
URL map and fail on any route registered without a check.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from ..choices import STAFF_ROLES, Role
from ..extensions import db, login_manager
from ..models import IntegrationConnection
from .policy import can

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = frozenset({"public"})
ANY_USER = frozenset(Role.values())


def deny() -> None:
    """Clients get 404 (never confirm an admin URL exists); staff without the role get 403."""
    abort(404 if current_user.is_client else 403)


def role_required(*roles: str) -> Callable[[F], F]:
    allowed = frozenset(str(r) for r in roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                deny()
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def staff_required(view: F) -> F:
    return role_required(*STAFF_ROLES)(view)


def public(view: F) -> F:
    """Mark a route as intentionally open (login page, health check, signed webhooks)."""
    view.allowed_roles = PUBLIC  # type: ignore[attr-defined]
    return view


def get_or_404(model: type, object_id: Any) -> Any:
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def get_for_client_or_404(model: type, object_id: Any, client_attr: str = "client_id") -> Any:
    """Fetch an object; a client user sees only their own client's objects, others are 404."""
    obj = get_or_404(model, object_id)
    if current_user.is_client and getattr(obj, client_attr) != current_user.client_id:
        abort(404)
    return obj


def connection_or_404(connection_id: int, action: str = "view") -> IntegrationConnection:
    """The connection a URL names, when the signed-in user may `action` it (auth/policy.RULES): 404 when
    there is none, and `deny()` when there is one they may not touch (403 for staff, 404 for a client)."""
    conn = get_or_404(IntegrationConnection, connection_id)
    if not can(current_user, action, conn):
        deny()
    return conn
