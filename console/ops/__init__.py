"""Ops pages: the dashboard, runs, alerts, webhook events and sync errors with filters, details, and
run now / pause / retry / replay / resolve / ignore."""
from flask import Blueprint

bp = Blueprint("ops", __name__, url_prefix="/ops")

from . import alerts, calls, dashboard, errors, reconcile, runs, webhooks  # noqa: E402,F401  (registers the views on bp)
