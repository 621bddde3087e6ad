"""Every REST call: a valid session (Bearer or OAuth header), the org's daily API limit counted and reported
in Sforce-Limit-Info, and the call counted by path for tests and benchmarks."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import current_app, g, request

from .errors import SfError
from .state import Org

DATA_PATH = re.compile(r"/services/data/v\d{2}\.\d(/.*)?$")


def org() -> Org:
    return current_app.extensions["salesforce"]


def before_request() -> None:
    if not DATA_PATH.match(request.path) and not request.path.startswith("/id/") and \
            request.path != "/services/oauth2/userinfo":
        return
    the_org = org()
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    with the_org.lock:
        session = the_org.tokens.get(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
        if session is None or session.expires <= datetime.now(UTC):
            raise SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        g.user_id = session.user_id
        key = f"{request.method} {_template(request.path)}"
        the_org.requests[key] = the_org.requests.get(key, 0) + 1
        if DATA_PATH.match(request.path):
            if the_org.api_used >= the_org.config.daily_limit:
                g.limit_info = True
                raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            the_org.api_used += 1
            g.limit_info = True


def after_request(resp):
    if getattr(g, "limit_info", False):
        the_org = org()
        resp.headers["Sforce-Limit-Info"] = f"api-usage={the_org.api_used}/{the_org.config.daily_limit}"
    return resp


def _template(path: str) -> str:
    """A path with its version, ids and cursor locators generalised (how calls are counted)."""
    path = re.sub(r"/v\d{2}\.\d", "/vXX.X", path)
    path = re.sub(r"/0[a-zA-Z0-9]{14}(?:[a-zA-Z0-9]{3})?(?=/|$)", "/{id}", path)  # ids start with their prefix's 0
    return re.sub(r"/01g[0-9A-Z]+-\d+", "/{locator}", path)
