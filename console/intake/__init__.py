"""The integration intake per connection: the agency's intake questions answered as they are typed,
with sample files and API documents attached."""
from flask import Blueprint

bp = Blueprint("intake", __name__, url_prefix="/connections/<int:connection_id>/intake")

from . import routes  # noqa: E402,F401  (registers the views on bp)
