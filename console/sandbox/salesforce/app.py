"""The Salesforce sandbox's own Flask app (not a console blueprint)."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from . import access, admin, api_collections, api_meta, api_query, api_records, oauth
from .errors import OAuthError, SfError
from .seed import build_org
from .state import OrgConfig

MAX_BODY = 8 * 1024 * 1024  # a collection of 200 records fits many times over


def create_salesforce_app(config: OrgConfig | None = None) -> Flask:
    app = Flask("salesforce_sandbox")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's setting
    app.extensions["salesforce"] = the_org = build_org(config or OrgConfig())
    for bp in (api_query.bp, api_meta.bp, api_records.bp, api_collections.bp, oauth.bp, admin.bp):
        app.register_blueprint(bp)
    app.before_request(access.before_request)
    app.after_request(access.after_request)

    @app.errorhandler(SfError)
    def sf_error(err: SfError):
        return err.response()

    @app.errorhandler(OAuthError)
    def oauth_error(err: OAuthError):
        return err.response()

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE"}.get(err.code or 0, "INVALID_REQUEST")
        return SfError(err.code or 500, code, err.description or err.name).response()

    @app.get("/")
    def root():
        return jsonify({"service": "salesforce-sandbox", "organizationId": the_org.config.org_id})

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return app
