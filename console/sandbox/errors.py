"""HubSpot-shaped error bodies."""
from __future__ import annotations

import json
import uuid

from flask import Response


class ApiError(Exception):
    def __init__(self, status: int, message: str, category: str, errors: list | None = None,
                 headers: dict | None = None, **extra) -> None:
        super().__init__(message)
        self.status, self.message, self.category = status, message, category
        self.errors, self.headers, self.extra = errors, headers or {}, extra

    def response(self) -> Response:
        body = {"status": "error", "message": self.message, "correlationId": str(uuid.uuid4()),
                "category": self.category, **self.extra}
        if self.errors:
            body["errors"] = self.errors
        return Response(json.dumps(body), self.status, self.headers, mimetype="application/json")


def validation(message: str, errors: list | None = None) -> ApiError:
    return ApiError(400, message, "VALIDATION_ERROR", errors)


def not_found(message: str = "resource not found") -> ApiError:
    return ApiError(404, message, "OBJECT_NOT_FOUND")


def unauthorized(expired: bool = False) -> ApiError:
    if expired:
        return ApiError(401, "The OAuth token used to make this call expired 0 second(s) ago.",
                        "EXPIRED_AUTHENTICATION")
    return ApiError(401, "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                         "and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                    "INVALID_AUTHENTICATION")


def missing_scopes(required: list[str]) -> ApiError:
    return ApiError(403, "This app hasn't been granted all required scopes to make this call.",
                    "MISSING_SCOPES",
                    [{"message": "One or more of the following scopes are required.",
                      "context": {"requiredGranularScopes": required}}])


def rate_limited(policy: str, headers: dict) -> ApiError:
    names = {"TEN_SECONDLY_ROLLING": "ten_secondly_rolling", "DAILY": "daily", "SECONDLY": "secondly"}
    return ApiError(429, f"You have reached your {names.get(policy, policy.lower())} limit.", "RATE_LIMIT",
                    headers=headers, errorType="RATE_LIMIT", policyName=policy)
