"""Staff side of client reporting: metric values, baselines, report notes, and the client preview link."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/connections/<int:connection_id>/report")

from . import routes  # noqa: E402,F401  (registers the views on bp)
