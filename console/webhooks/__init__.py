"""Inbound webhooks: verified, deduplicated, acknowledged fast; normalized later in the background."""
from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from . import receiver  # noqa: E402,F401  (registers the views on bp)
