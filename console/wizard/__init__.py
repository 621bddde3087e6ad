"""The launch wizard: access → connection → mapping → test → report → monitor, then the go-live gate."""
from flask import Blueprint

bp = Blueprint("wizard", __name__, url_prefix="/connections")

from . import lifecycle  # noqa: E402,F401  (registers the views on bp)
from .steps import access, connection, mapping, monitor, report, testing  # noqa: E402,F401
