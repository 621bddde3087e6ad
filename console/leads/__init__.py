"""Leads for staff: find a lead, see its fields, changes, conflicts and events, correct its two-way
fields (written to the CRM by the outbound push), and settle sync conflicts."""
from flask import Blueprint

bp = Blueprint("leads", __name__, url_prefix="/leads")

from . import routes  # noqa: E402,F401  (registers the views on bp)
