"""Admin pages: clients, users, the audit log and retention (admins only)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import audit_log, clients, retention, users  # noqa: E402,F401  (register views)
