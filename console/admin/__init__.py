"""Admin pages: clients, users and the audit log (admins only)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import audit_log, clients, users  # noqa: E402,F401  (register views)
