"""``ServerConfig``: what ``voxclone serve`` was asked for, checked once, frozen."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

from tts.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5002


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Limits and places of one server.

    ``workers``: syntheses that run at once (each on its own thread); ``max_queue``: requests
    allowed to wait for a worker beyond those (more get 503); ``max_chars``: longest text one
    request may ask for; ``max_body_bytes``: largest request body; ``torch_threads``: torch's
    intra-op threads (None: leave torch's default); ``voices_dir``: the cloned voices' folder
    (None: ``tts.profiles.voices_dir``); ``stream_buffer``: sentences made ahead of a streaming
    client that reads slowly; ``stall_seconds``: how long a streaming client may read nothing
    before its synthesis is given up (so that a stalled client cannot hold a worker)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    max_queue: int = 8
    max_chars: int = 4096
    max_body_bytes: int = 64 * 1024
    torch_threads: int | None = None
    voices_dir: Path | None = None
    stream_buffer: int = 4
    stall_seconds: float = 60.0
    runtime: str = "auto"
    """What runs the voices' models: ``torch``, ``onnx`` (``voxclone export --onnx``), or
    ``auto`` (``tts.voices.resolve_runtime``: onnx for a voice with a current export)."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be a whole number from 0 to 65535, got {self.port}")
        checks = (("--workers", self.workers, 1), ("--max-queue", self.max_queue, 0),
                  ("--max-chars", self.max_chars, 1), ("--max-body", self.max_body_bytes, 256),
                  ("stream_buffer", self.stream_buffer, 1))
        for flag, value, least in checks:
            if value < least:
                raise ConfigError(f"{flag} must be at least {least}, got {value}")
        if self.torch_threads is not None and self.torch_threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.torch_threads}")

    @property
    def loopback(self) -> bool:
        """Whether ``host`` only accepts connections from this machine."""
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
