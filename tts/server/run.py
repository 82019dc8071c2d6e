"""``serve``: bind the address, load the voices asked for, run the app on uvicorn.

The socket is bound here, before uvicorn starts, so that a port in use or a host that does not
resolve is one clear ``VoxcloneError`` line, and ``--port 0`` can report the port it got.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Sequence

from tts.errors import VoxcloneError
from tts.server.config import ServerConfig

WARM_UP_TEXT = "Ready."


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: any free one); ``VoxcloneError`` if not."""
    where = f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise VoxcloneError(f"cannot listen on {where}: unknown host ({exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        hint = {errno.EADDRINUSE: ": another program listens there; choose another --port",
                errno.EACCES: ": ports below 1024 need privileges; choose another --port",
                errno.EADDRNOTAVAIL: ": this machine has no such address"}.get(exc.errno, "")
        raise VoxcloneError(f"cannot listen on {where}: {exc.strerror or exc}{hint}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(config: ServerConfig, preload: Sequence[str] | None = None, log_level: str = "info",
          say: Callable[[str], None] = print) -> None:
    """Run the server until Ctrl-C (then return). ``preload``: voices loaded (and spoken once,
    to warm the text front end) before the first request (None: the default voice); ``say``
    gets the one-line announcements."""
    sock = bind(config.host, config.port)  # first: a bad address is reported at once
    try:
        if not config.loopback:
            say(f"warning: listening on {config.host}, not loopback: anyone who can reach this "
                "machine can use the server (it has no authentication)")
        import uvicorn

        from tts.server.app import create_app

        if config.torch_threads is not None:
            import torch

            torch.set_num_threads(config.torch_threads)
        app = create_app(config)
        voices = app.state.service.voices
        if preload is None:
            preload = [name for name in [voices.default()] if name]
        for name in preload:
            from tts.synthesizer import Synthesizer

            Synthesizer(engine=voices.engine(name)).synthesize(WARM_UP_TEXT)
        sock.listen(2048)  # connections wait in the backlog until uvicorn accepts them
        url = url_of(sock)
        say(f"serving on {url}/ (web page), {url}/v1/audio/speech (OpenAI API), "
            f"{url}/api/tts; Ctrl-C stops")
        server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=True,
                                               timeout_graceful_shutdown=5))
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn hands Ctrl-C back once it has shut down
            pass
        say("stopped")
    finally:
        sock.close()
