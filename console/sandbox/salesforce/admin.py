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
    """{"object": "Contact", "update": n, "delete": m, "create": c, "same_timestamp": bool, "seed": s}: n records
    get a new Title (or Phone, or Name) by another user (all at one instant with same_timestamp, as a bulk
    update), m are deleted, c are created; answers the ids of each."""
    body = request.get_json(silent=True) or {}
    obj = sobject(str(body.get("object", "Contact")))
    try:
        updates, deletes, creates, seed = (int(body.get(k, 0)) for k in ("update", "delete", "create", "seed"))
    except (TypeError, ValueError):
        raise SfError(400, "INVALID_REQUEST", "update, delete and seed are whole numbers") from None
    if obj is None or not obj.createable or not all(0 <= n <= MAX_CHANGES for n in (updates, deletes, creates)):
        raise SfError(400, "INVALID_REQUEST", "an object the org holds, and at most 100,000 changes of each kind")
    the_org = org()
    rng = random.Random(seed)
    with the_org.lock:
        ids = sorted(the_org.records[obj.name])
        chosen = rng.sample(ids, min(len(ids), updates + deletes))
        others = [u for u in the_org.records["User"] if u != the_org.integration_user]
        field = "Title" if obj.field("Title") else "Phone" if obj.field("Phone") else "Name"
        updated = chosen[:updates]
        instant = the_org.now() if body.get("same_timestamp") else None
        for i, record_id in enumerate(updated):
            the_org.change(obj, the_org.records[obj.name][record_id], {field: f"Changed {seed}-{i}"}, rng.choice(others),
                           instant)
        gone = chosen[updates:]
        for record_id in gone:
            the_org.delete(obj, record_id)
        template = next(iter(the_org.records[obj.name].values()), None)
        created = []
        for i in range(creates if template is not None else 0):
            values = {k: v for k, v in template.items() if (f := obj.field(k)) is not None and f.writable
                      and not f.external_id}
            if "Email" in values:
                values["Email"] = f"new.{seed}.{i}@example.com"
            created.append(the_org.insert(obj, values, rng.choice(others))["Id"])
    return jsonify({"updated": updated, "deleted": gone, "created": created})
