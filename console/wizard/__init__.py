"""The launch wizard: access → connection → mapping → test → report → monitor, then the go-live gate."""
from flask import Blueprint

bp = Blueprint("wizard", __name__, url_prefix="/connections")

from . import lifecycle, readiness  # noqa: E402,F401  (views on bp; readiness subscribes to engine events)
from .steps import access, connection, design_pages, mapping, monitor, objects, report, testing  # noqa: E402,F401
