"""The sandbox's own endpoints (not Salesforce's): what it answered, and simulated activity in the org, as
other users make it: records changed, created and deleted, their SystemModstamp moving."""
from __future__ import annotations

import random

from flask import Blueprint, jsonify, request

from .access import org
from .errors import SfError
from .schema import sobject

bp = Blueprint("sf_admin", __name__)
MAX_CHANGES = 100_000


@bp.get("/_sandbox/info")
def info():
    the_org = org()
    with the_org.lock:
        return jsonify({"organizationId": the_org.config.org_id, "api_used": the_org.api_used,
                        "daily_limit": the_org.config.daily_limit, "requests": dict(the_org.requests),
                        "records": {name: len(rows) for name, rows in the_org.records.items()},
                        "deleted": {name: len(rows) for name, rows in the_org.deleted.items()},
                        "client_id": the_org.client_id})


@bp.post("/_sandbox/changes")
def changes():
    """{"object": "Contact", "update": n, "delete": m, "seed": s}: n records get a new Title (or Name) by
    another user, m are deleted; answers the ids of each."""
    body = request.get_json(silent=True) or {}
    obj = sobject(str(body.get("object", "Contact")))
    try:
        updates, deletes, seed = (int(body.get(k, 0)) for k in ("update", "delete", "seed"))
    except (TypeError, ValueError):
        raise SfError(400, "INVALID_REQUEST", "update, delete and seed are whole numbers") from None
    if obj is None or not 0 <= updates <= MAX_CHANGES or not 0 <= deletes <= MAX_CHANGES:
        raise SfError(400, "INVALID_REQUEST", "an object the org holds, and at most 100,000 changes of each kind")
    the_org = org()
    rng = random.Random(seed)
    with the_org.lock:
        ids = sorted(the_org.records[obj.name])
        chosen = rng.sample(ids, min(len(ids), updates + deletes))
        others = [u for u in the_org.records["User"] if u != the_org.integration_user]
        field = "Title" if obj.field("Title") else "Phone" if obj.field("Phone") else "Name"
        updated = chosen[:updates]
        for i, record_id in enumerate(updated):
            the_org.change(obj, the_org.records[obj.name][record_id], {field: f"Changed {seed}-{i}"}, rng.choice(others))
        gone = chosen[updates:]
        for record_id in gone:
            the_org.delete(obj, record_id)
    return jsonify({"updated": updated, "deleted": gone})
