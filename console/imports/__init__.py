"""Manual CSV imports per connection: upload, header mapping, dry-run preview, background import."""
from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/connections/<int:connection_id>/imports")

from . import routes  # noqa: E402,F401  (registers the views on bp)
