"""Two ASGI middlewares: ``BodyLimit`` refuses request bodies over a size with 413;
``LoopbackOnly`` refuses requests that do not name a loopback server by a loopback name.

``BodyLimit`` reads the body before the application sees it (bodies here are small JSON),
counting bytes whether or not the client declared a Content-Length, then hands the
application the same bytes.
"""

from __future__ import annotations

from tts.server.config import is_loopback
from tts.server.errors import ApiError, error_response


class BodyLimit:
    """Wrap ``app``; bodies over ``max_bytes`` are answered 413 in the server's error shape."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, size: str) -> ApiError:
        return ApiError(413, f"the request body is too large ({size}; this server takes at most "
                             f"{self.max_bytes:,} bytes)", "body_too_large")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(self._too_large(f"{int(declared):,} bytes"))
            await response(scope, receive, send)
            return
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > self.max_bytes:
                response = error_response(self._too_large(f"over {self.max_bytes:,} bytes"))
                await response(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(parts), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class LoopbackOnly:
    """Wrap ``app`` of a loopback server: requests must name it as ``localhost``, 127.x.x.x or
    ``::1`` in their Host header. A web page elsewhere that renames its own host to this
    machine's address (DNS rebinding) is refused with 400."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if not is_loopback(name.strip("[]")):
                response = error_response(ApiError(
                    400, f"Host {host!r} is not this server's name: it listens on loopback and "
                         "answers to localhost, 127.0.0.1 or [::1] only", "invalid_host"))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
