"""OpenAI's error shape, so every SDK shows the proxy's refusals like the provider's own.

Messages are fixed strings chosen here: they never quote the request (DESIGN invariant 6).
"""

from __future__ import annotations

import json

from aiohttp import web


class ProxyError(Exception):
    """A refusal with a status, an OpenAI error ``type`` and a stable ``code``."""

    def __init__(self, status: int, message: str, type_: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code

    def body(self) -> dict[str, dict[str, str | None]]:
        return error_body(self.message, self.type, self.code)

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status)


def error_body(message: str, type_: str, code: str) -> dict[str, dict[str, str | None]]:
    """``{"error": {"message", "type", "code", "param"}}`` as the OpenAI API sends it."""
    return {"error": {"message": message, "type": type_, "code": code, "param": None}}


def sse_error_event(message: str, type_: str, code: str) -> bytes:
    """The last event of a stream that failed midway; the OpenAI SDK raises it as APIError."""
    return b"data: " + json.dumps(error_body(message, type_, code)).encode() + b"\n\n"


def bad_request(message: str, code: str = "invalid_request") -> ProxyError:
    return ProxyError(400, message, "invalid_request_error", code)


def unauthorized(message: str = "invalid or missing API key for this proxy") -> ProxyError:
    return ProxyError(401, message, "authentication_error", "invalid_api_key")


def forbidden(message: str) -> ProxyError:
    return ProxyError(403, message, "permission_error", "forbidden")


def not_found(message: str = "unknown route") -> ProxyError:
    return ProxyError(404, message, "invalid_request_error", "not_found")


def method_not_allowed() -> ProxyError:
    return ProxyError(405, "method not allowed on this route", "invalid_request_error",
                      "method_not_allowed")


def too_large(limit: int) -> ProxyError:
    return ProxyError(413, f"request body exceeds the limit of {limit} bytes",
                      "invalid_request_error", "request_too_large")


def anonymization_failed() -> ProxyError:
    return ProxyError(503, "anonymization failed; the request was not forwarded",
                      "service_unavailable", "anonymization_failed")


def store_unavailable() -> ProxyError:
    return ProxyError(503, "the item store is unavailable; the request was not forwarded",
                      "service_unavailable", "store_unavailable")


def not_ready() -> ProxyError:
    return ProxyError(503, "the proxy is not ready", "service_unavailable", "not_ready")


def upstream_unreachable() -> ProxyError:
    return ProxyError(502, "the upstream provider could not be reached", "upstream_error",
                      "upstream_unreachable")


def upstream_timeout() -> ProxyError:
    return ProxyError(504, "the upstream provider did not answer in time", "upstream_error",
                      "upstream_timeout")


def upstream_bad_response() -> ProxyError:
    return ProxyError(502, "the upstream provider sent a response the proxy cannot read",
                      "upstream_error", "upstream_bad_response")


def internal_error() -> ProxyError:
    return ProxyError(500, "internal error in the proxy", "server_error", "internal_error")


def anonymization_timeout() -> ProxyError:
    return ProxyError(503, "anonymization took longer than the proxy's time budget; the "
                           "request was not forwarded", "service_unavailable",
                      "anonymization_timeout")


def too_much_text(limit: int) -> ProxyError:
    return ProxyError(413, f"the request's texts exceed the limit of {limit} characters",
                      "invalid_request_error", "too_much_text")


def too_many_texts(limit: int) -> ProxyError:
    return ProxyError(413, f"the request has more than {limit} texts to anonymize",
                      "invalid_request_error", "too_many_texts")


def shutting_down() -> ProxyError:
    return ProxyError(503, "the proxy is shutting down; retry the request",
                      "service_unavailable", "shutting_down")
