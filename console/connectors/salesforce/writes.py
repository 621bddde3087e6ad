"""Writes through sObject Collections, 200 records a call: upserts on the console's external-id field,
updates by Salesforce id, creates; each record answered on its own (allOrNone false)."""
from __future__ import annotations

from typing import Any

from ..base import WriteInput, WriteResult
from .client import SalesforceClient

EXTERNAL_ID = "Connector_Console_Id__c"  # the console's id on a Salesforce record (a unique external-id text field)
CHUNK = 200


def _error(answer: dict) -> str:
    errors = answer.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    return f"{first.get('statusCode') or 'ERROR'}: {str(first.get('message') or '')[:200]}"


def write(client: SalesforceClient, sobject: str, inputs: list[WriteInput], id_property: str | None) -> list[WriteResult]:
    by_key = [i for i in inputs if i.key is not None and i.id is None]
    by_id = [i for i in inputs if i.id is not None]
    fresh = [i for i in inputs if i.key is None and i.id is None]
    results: list[WriteResult] = []
    for i in range(0, len(by_key), CHUNK):
        chunk = by_key[i:i + CHUNK]
        records = [{"attributes": {"type": sobject}, **w.properties, EXTERNAL_ID: w.key} for w in chunk]
        results += _answers(chunk, client.request("PATCH", client.data(f"composite/sobjects/{sobject}/{EXTERNAL_ID}"),
                                                  json_body={"allOrNone": False, "records": records}))
    for i in range(0, len(by_id), CHUNK):
        chunk = by_id[i:i + CHUNK]
        records = [{"attributes": {"type": sobject}, "id": w.id, **w.properties} for w in chunk]
        results += _answers(chunk, client.request("PATCH", client.data("composite/sobjects"),
                                                  json_body={"allOrNone": False, "records": records}))
    for i in range(0, len(fresh), CHUNK):
        chunk = fresh[i:i + CHUNK]
        records = [{"attributes": {"type": sobject}, **w.properties} for w in chunk]
        results += _answers(chunk, client.request("POST", client.data("composite/sobjects"),
                                                  json_body={"allOrNone": False, "records": records}), created=True)
    return results


def _answers(chunk: list[WriteInput], reply: Any, created: bool = False) -> list[WriteResult]:
    answers = reply if isinstance(reply, list) and len(reply) == len(chunk) else None
    if answers is None:
        return [WriteResult(w.ref, error="Salesforce answered the collection without one result per record") for w in chunk]
    out = []
    for w, a in zip(chunk, answers):
        if isinstance(a, dict) and a.get("success"):
            out.append(WriteResult(w.ref, str(a.get("id") or w.id or ""), bool(a.get("created", created))))
        else:
            out.append(WriteResult(w.ref, error=_error(a if isinstance(a, dict) else {})))
    return out
