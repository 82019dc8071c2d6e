"""Every error the server answers is JSON in OpenAI's shape, on every endpoint:

    {"error": {"message": "...", "type": "invalid_request_error", "param": "voice",
               "code": "voice_not_found"}}

``ApiError`` carries a status, code and parameter; ``error_response`` turns it, or any
``VoxcloneError`` or unexpected exception, into that response. An unexpected exception is
logged with its traceback and answered 500; the server goes on serving.
"""

from __future__ import annotations

import logging

from fastapi.responses import JSONResponse

from tts.errors import CheckpointError, ConfigError, TextError, VoxcloneError
from tts.profiles import ProfileError
from tts.server.jobs import Busy
from tts.server.voices import UnknownVoice

log = logging.getLogger("voxclone.server")


class ApiError(Exception):
    """A request the server refuses: HTTP ``status``, a one-line ``message``, the request
    field it is about (``param``) and a short machine-readable ``code``."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


def as_api_error(exc: BaseException, text_param: str = "input") -> ApiError:
    """The ``ApiError`` for anything a request's handling raised."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Busy):
        return ApiError(503, str(exc), "queue_full",
                        headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, UnknownVoice):
        return ApiError(404, str(exc), "voice_not_found", "voice")
    if isinstance(exc, TextError):
        return ApiError(400, str(exc), "invalid_text", text_param)
    if isinstance(exc, ConfigError):
        return ApiError(400, str(exc), "invalid_value")
    if isinstance(exc, (CheckpointError, ProfileError)):
        return ApiError(500, f"the voice cannot be loaded: {exc}", "voice_unavailable")
    if isinstance(exc, VoxcloneError):
        return ApiError(500, str(exc), "synthesis_failed")
    log.error("unexpected error while serving a request", exc_info=exc)
    return ApiError(500, f"internal error ({type(exc).__name__}); the server log has the "
                         "details", "internal_error")


def error_response(exc: BaseException, text_param: str = "input") -> JSONResponse:
    """The JSON response for ``exc`` (see the module notes)."""
    error = as_api_error(exc, text_param)
    kind = ("server_error" if error.status >= 500 else
            "rate_limit_error" if error.status == 429 else "invalid_request_error")
    body = {"error": {"message": error.message, "type": kind, "param": error.param,
                      "code": error.code}}
    return JSONResponse(body, status_code=error.status, headers=error.headers)
