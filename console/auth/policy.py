"""One access policy: `can(user, action, connection)`, asked by every view and (as `can(action,
connection)`) by every template. Routes still carry `role_required` as the first gate; this decides what a
signed-in staff member may do to a given connection."""
from __future__ import annotations

from typing import Any

from ..choices import STAFF_ROLES, Role

ADMIN, OWNER, OPS = Role.ADMIN.value, Role.OWNER.value, Role.OPS.value


def _owns(user: Any, connection: Any) -> bool:
    return user.role == OWNER and connection is not None and connection.owner_user_id == user.id


# action -> who may, given the user and (where it matters) the connection
RULES = {
    "view": lambda user, conn: user.role in STAFF_ROLES,                            # any connection's pages
    "create": lambda user, conn: user.role in (ADMIN, OWNER),                       # a new connection
    "edit": lambda user, conn: user.role == ADMIN or _owns(user, conn),             # wizard steps, mapping
    "test": lambda user, conn: user.role in (ADMIN, OPS) or _owns(user, conn),      # test batches
    "operate": lambda user, conn: user.role in (ADMIN, OPS) or _owns(user, conn),   # run now, pause, reconcile
    "import": lambda user, conn: user.role in (ADMIN, OPS) or _owns(user, conn),    # CSV imports
    "report": lambda user, conn: user.role == ADMIN or _owns(user, conn),           # the client report
    "triage": lambda user, conn: user.role in (ADMIN, OPS),                         # retry, replay, acknowledge
    "correct": lambda user, conn: user.role in (ADMIN, OPS) or _owns(user, conn),   # a lead's two-way fields
    "administer": lambda user, conn: user.role == ADMIN,                            # overrides, re-baselines
    # "view as client": given the client's connections, admins and the owners of any of them
    "preview": lambda user, conns: user.role == ADMIN or any(_owns(user, c) for c in conns or ()),
}


def can(user: Any, action: str, connection: Any = None) -> bool:
    """True when `user` may do `action` (to `connection`). An unknown action is a bug: it raises."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "active", True):
        return False
    return RULES[action](user, connection)
