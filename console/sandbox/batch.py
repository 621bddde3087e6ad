"""Request bodies and batch answers as HubSpot shapes them: a JSON object or a 400, at most 100 batch inputs,
207 with an error entry naming the ids it could not find."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, request

from .errors import validation

MAX_BATCH = 100


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def batch_inputs(body: Any) -> list[dict[str, Any]]:
    inputs = (body or {}).get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise validation("The request body must contain an 'inputs' array.")
    if len(inputs) > MAX_BATCH:
        raise validation(f"Batch input size is limited to {MAX_BATCH}; got {len(inputs)}.")
    if not all(isinstance(item, dict) for item in inputs):
        raise validation("Each batch input must be a JSON object.")
    return inputs


def missing_ids_error(missing: list[str], message: str) -> list[dict]:
    """The 207 error entry HubSpot returns for ids it could not find (empty when none)."""
    return [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": message,
             "context": {"ids": missing}}] if missing else []


def batch_response(results: list[dict], errors: list[dict], status_ok: int) -> tuple[Response, int]:
    started = _now()
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": _now()}
    if errors:
        body.update({"numErrors": len(errors), "errors": errors})
        return jsonify(body), 207
    return jsonify(body), status_ok


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        raise validation("Invalid input JSON: the request body could not be parsed.")
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object.")
    return body
