"""The sandbox's own Flask app (not a console blueprint)."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from . import access, admin, api_associations, api_meta, api_oauth, api_objects
from .errors import ApiError
from .state import SandboxConfig, build_state


def create_sandbox_app(config: SandboxConfig | None = None) -> Flask:
    app = Flask("hubspot_sandbox")
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's setting
    app.extensions["sandbox"] = state = build_state(config or SandboxConfig())
    for bp in (api_objects.bp, api_meta.bp, api_associations.bp, api_oauth.bp, admin.bp):
        app.register_blueprint(bp)
    app.before_request(access.before_request)
    app.after_request(access.after_request)

    @app.errorhandler(ApiError)
    def api_error(err: ApiError):
        return err.response()

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        category = {404: "OBJECT_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(err.code or 0, "VALIDATION_ERROR")
        return ApiError(err.code or 500, err.description or err.name, category).response()

    @app.get("/")
    def root():
        return jsonify({"service": "hubspot-sandbox", "portalId": state.portal.portal_id})

    if state.config.deliver_webhooks:
        state.webhooks.start()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return app
