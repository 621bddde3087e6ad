"""SOQL over REST: `query` and `queryAll` (deleted records too), answered in batches of up to 2,000 records
(`Sforce-Query-Options: batchSize=N`, 200 to 2,000) with `nextRecordsUrl` naming the rest."""
from __future__ import annotations

import re
import time
from typing import Any

from flask import Blueprint, jsonify, request

from . import soql
from .access import org
from .errors import SfError, invalid_field, invalid_type, malformed
from .schema import SObject, sobject
from .state import Org

bp = Blueprint("sf_query", __name__)
DEFAULT_BATCH, MIN_BATCH, MAX_BATCH = 2000, 200, 2000
BATCH = re.compile(r"batchSize=(\d{1,6})")


def resolver(object_name: str):
    obj = sobject(object_name)
    if obj is None:
        raise malformed(f"sObject type '{object_name[:80]}' is not supported.")

    def resolve(name: str) -> str:
        found = obj.field(name)
        if found is None:
            raise invalid_field(name, obj.name)
        return found.name
    return resolve


def shaped(obj: SObject, record: dict, fields: list[str], version: str) -> dict[str, Any]:
    """A record as the API answers it: its attributes, then the asked fields in the asked order."""
    return {"attributes": {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}"},
            **{f: record.get(f) for f in fields}}


def _sort(rows: list[dict], order: list[tuple[str, bool, bool]]) -> list[dict]:
    rows = sorted(rows, key=lambda r: r["Id"])  # no ORDER BY: id order, and the last tie-breaker
    for name, desc, nulls_first in reversed(order):
        none_rank = 0 if nulls_first != desc else 2
        rows.sort(key=lambda r: (none_rank, "") if r.get(name) is None else (1, r[name]), reverse=desc)
    return rows


def _slow() -> None:
    delay = org().config.slow_query_ms
    if delay > 0:
        time.sleep(min(delay, 30_000) / 1000)


def _batch_size() -> int:
    found = BATCH.search(request.headers.get("Sforce-Query-Options", ""))
    asked = min(MAX_BATCH, max(MIN_BATCH, int(found.group(1)))) if found else DEFAULT_BATCH
    return max(1, min(asked, org().config.max_batch))


def _page(the_org: Org, obj: SObject, ids: list[str], start: int, fields: list[str], version: str, kind: str,
          total: int, locator: str | None) -> dict:
    size = _batch_size()
    chunk = ids[start:start + size]
    rows = []
    for record_id in chunk:
        record = the_org.records[obj.name].get(record_id) or the_org.deleted[obj.name].get(record_id)
        if record is not None:
            rows.append(shaped(obj, record, fields, version))
    done = start + size >= len(ids)
    body: dict[str, Any] = {"totalSize": total, "done": done, "records": rows}
    if not done:
        body["nextRecordsUrl"] = f"/services/data/v{version}/{kind}/{locator}-{start + size}"
    return body


@bp.get("/services/data/v<version>/query/")
@bp.get("/services/data/v<version>/queryAll/")
@bp.get("/services/data/v<version>/query")
@bp.get("/services/data/v<version>/queryAll")
def query(version: str):
    _slow()
    text = request.args.get("q", "")
    kind = "queryAll" if "/queryAll" in request.path else "query"
    try:
        q = soql.parse(text, resolver)
    except soql.Malformed as exc:
        raise malformed(str(exc)) from None
    obj = sobject(q.object_name)
    if obj is None:  # the resolver refused it already; here for the type checker
        raise invalid_type(q.object_name)
    the_org = org()
    with the_org.lock:
        rows = list(the_org.records[obj.name].values())
        if kind == "queryAll":
            rows += list(the_org.deleted[obj.name].values())
        if q.where is not None:
            rows = [r for r in rows if q.where(r)]
        rows = _sort(rows, q.order)[q.offset:]
        if q.limit is not None:
            rows = rows[:q.limit]
        if q.count:
            return jsonify({"totalSize": len(rows), "done": True, "records": []})
        ids = [r["Id"] for r in rows]
        locator = the_org.cursor(obj.name, ids, q.fields) if len(ids) > _batch_size() else None
        return jsonify(_page(the_org, obj, ids, 0, q.fields, version, kind, len(ids), locator))


@bp.get("/services/data/v<version>/query/<locator>-<int:start>")
@bp.get("/services/data/v<version>/queryAll/<locator>-<int:start>")
def more(version: str, locator: str, start: int):
    _slow()
    the_org = org()
    kind = "queryAll" if "/queryAll/" in request.path else "query"
    with the_org.lock:
        cursor = the_org.cursors.get(locator)
        if cursor is None or start < 0 or start > len(cursor[1]):
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        object_name, ids, fields = cursor
        obj = sobject(object_name)
        assert obj is not None
        the_org.cursors.move_to_end(locator)
        return jsonify(_page(the_org, obj, ids, start, fields, version, kind, len(ids), locator))
