"""Sign-in, sign-out, own password, and the access rules every blueprint uses."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import routes  # noqa: E402,F401  (registers the views on bp)
