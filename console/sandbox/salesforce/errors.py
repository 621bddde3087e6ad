"""Salesforce-shaped errors: a list of {message, errorCode[, fields]} for the REST API, and
{error, error_description} for OAuth."""
from __future__ import annotations

import json

from flask import Response


class SfError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def body(self) -> dict:
        out: dict = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            out["fields"] = self.fields
        return out

    def response(self) -> Response:
        return Response(json.dumps([self.body()]), self.status, mimetype="application/json")


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> Response:
        return Response(json.dumps({"error": self.error, "error_description": self.description}), self.status,
                        mimetype="application/json")


def malformed(message: str) -> SfError:
    return SfError(400, "MALFORMED_QUERY", message)


def not_found(message: str = "The requested resource does not exist") -> SfError:
    return SfError(404, "NOT_FOUND", message)


def invalid_type(name: str) -> SfError:
    return SfError(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{name[:80]}' is not supported.")


def invalid_field(name: str, object_name: str) -> SfError:
    return SfError(400, "INVALID_FIELD", f"No such column '{name[:80]}' on entity '{object_name}'.")
