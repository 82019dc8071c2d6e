"""``create_app``: the HTTP face of voxclone (FastAPI), as thin as the CLI.

Endpoints:

- ``POST /v1/audio/speech``: OpenAI's text-to-speech request (model, input, voice, speed,
  response_format wav/mp3/flac/ogg/pcm); ``pcm`` is 24 kHz as OpenAI's, streamed sentence by
  sentence; the other formats come whole, at the voices' 22,050 Hz.
- ``POST /api/tts``: voxclone's own options (text, voice, emotion, intensity, pitch, speed,
  format, stream). ``stream: true`` sends ``wav`` (a header of unknown length, then 16-bit PCM)
  or ``pcm`` sentence by sentence as they are made.
- ``GET /api/voices``: the voices, each with its licence, emotions and whether pitch works.
- ``GET /api/health``: liveness and the queue's state. ``GET /``: the web page.

Every request is spoken by ``tts.synthesizer.Synthesizer`` (``synthesize`` whole,
``stream`` sentence by sentence), watermarked as the CLI's output, on the ``SynthesisPool``'s
workers. Errors are JSON (``tts.server.errors``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from tts import __version__
from tts.server.config import ServerConfig
from tts.server.encoding import STREAM_FORMATS, encode, media_type, pcm16, streaming_wav_header
from tts.server.errors import ApiError, error_response
from tts.server.jobs import SynthesisPool
from tts.server.limits import BodyLimit, LoopbackOnly
from tts.server.voices import VoiceCache

STATIC = Path(__file__).parent / "static"
FORMATS = ("wav", "mp3", "flac", "ogg", "pcm")
OPENAI_PCM_RATE = 24000
"""OpenAI's ``pcm``: 24 kHz 16-bit little-endian mono."""
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "media-src 'self' blob:; connect-src 'self' blob:; object-src 'none'; "
               "base-uri 'none'; frame-ancestors 'none'")
"""The web page's Content-Security-Policy: it may load and fetch nothing from elsewhere."""


class SpeechRequest(BaseModel):
    """OpenAI's ``POST /v1/audio/speech`` body (``model`` is accepted and not used: the voice
    decides the model)."""

    model: str = "voxclone"
    input: str
    voice: str
    speed: float = 1.0
    response_format: str = "mp3"


class TtsRequest(BaseModel):
    """``POST /api/tts``: the CLI's ``say`` options."""

    text: str
    voice: str | None = Field(None, description="default: the server's default voice")
    emotion: str | None = None
    intensity: float = 1.0
    pitch: float = 0.0
    speed: float = 1.0
    format: str = "wav"
    stream: bool = False


@dataclasses.dataclass(frozen=True)
class Job:
    """What one request asks to be spoken, checked; ``rate``: output sample rate (None: the
    voice's own, 22,050 Hz for the bundled ones)."""

    text: str
    voice: str
    emotion: str | None
    intensity: float
    speed: float
    pitch: float
    fmt: str
    rate: int | None = None


class Service:
    """The state one app shares among its requests: the voices, the pool, the limits."""

    def __init__(self, config: ServerConfig, voices: VoiceCache) -> None:
        self.config = config
        self.voices = voices
        self.pool = SynthesisPool(config.workers, config.max_queue, config.stream_buffer,
                                  config.stall_seconds)

    def job(self, text: str, text_param: str, voice: str | None, fmt: str, fmt_param: str,
            **style) -> Job:
        """Check a request's text, voice and format (before it takes a place in the queue; on
        a thread, since the voices' list may read the disk)."""
        if fmt not in FORMATS:
            raise ApiError(400, f"{fmt_param} {fmt!r} is not supported; use one of "
                                f"{', '.join(FORMATS)}", "unsupported_format", fmt_param)
        if len(text) > self.config.max_chars:
            raise ApiError(413, f"{text_param} is too long ({len(text):,} characters; this "
                                f"server takes at most {self.config.max_chars:,} per request): "
                                "split it into several requests", "text_too_long", text_param)
        if not text.strip():
            raise ApiError(400, f"{text_param} is empty: give something to say", "empty_input",
                           text_param)
        if voice is None:
            voice = self.voices.default()
            if voice is None:
                raise ApiError(500, "this server has no voices (the bundled ones are missing "
                                    "and none has been cloned)", "no_voices", "voice")
        return Job(text=text, voice=self.voices.check(voice), fmt=fmt, **style)

    def _speaking(self, job: Job):
        """``(synthesizer, style)`` of ``job``: the voice's shared engine and the options
        ``Synthesizer.speak``/``stream`` restyle it with. Runs on a worker (it may load)."""
        from tts.synthesizer import Synthesizer

        style = {"emotion": job.emotion, "intensity": job.intensity, "speed": job.speed,
                 "pitch": job.pitch}
        return Synthesizer(engine=self.voices.engine(job.voice)), style

    @staticmethod
    def _at_rate(wav, rate: int, wanted: int | None):
        if wanted is None or wanted == rate:
            return wav
        from tts.audio import resample

        return resample(wav, rate, wanted)

    @staticmethod
    def headers(job: Job, rate: int) -> dict[str, str]:
        return {"X-Sample-Rate": str(rate), "X-Voice": job.voice, "X-Watermark": "on",
                "Cache-Control": "no-store"}

    async def whole(self, job: Job) -> Response:
        """The whole file: ``Synthesizer.synthesize`` on a worker, then encoded there."""

        def make() -> tuple[bytes, int, float]:
            synthesizer, style = self._speaking(job)
            result = synthesizer.synthesize(job.text, **style)
            rate = job.rate or result.sample_rate
            wav = self._at_rate(result.wav, result.sample_rate, job.rate)
            return encode(wav, rate, job.fmt), rate, result.duration

        body, rate, seconds = await self.pool.run(make)
        return Response(body, media_type=media_type(job.fmt, rate),
                        headers={**self.headers(job, rate), "X-Audio-Seconds": f"{seconds:.3f}"})

    async def streamed(self, job: Job) -> Response:
        """16-bit PCM sentence by sentence as ``Synthesizer.stream`` makes it (after a WAV
        header of unknown length for ``wav``). Problems found before the first sentence is
        out (the text, the voice, the style) are JSON errors like the whole response's."""

        def chunks() -> Iterator[tuple[int, bytes]]:
            synthesizer, style = self._speaking(job)
            rate = job.rate or synthesizer.sample_rate
            for wav in synthesizer.stream(job.text, **style):
                yield rate, pcm16(self._at_rate(wav, synthesizer.sample_rate, job.rate))

        pieces = self.pool.stream(chunks)
        try:
            rate, first = await pieces.__anext__()
        except StopAsyncIteration:  # Synthesizer.stream raises when nothing is said
            raise RuntimeError("the synthesizer made no audio and said nothing") from None
        except BaseException:
            await pieces.aclose()
            raise

        async def body() -> AsyncIterator[bytes]:
            if job.fmt == "wav":
                yield streaming_wav_header(rate)
            yield first
            async for _, piece in pieces:
                yield piece

        return StreamingResponse(body(), media_type=media_type(job.fmt, rate),
                                 headers=self.headers(job, rate))


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0] if exc.errors() else {}
    where = [str(part) for part in first.get("loc", ()) if part != "body"]
    field = ".".join(where) or None
    what = first.get("msg", "invalid request")
    return (f"{field}: {what}" if field else f"the request body is not valid: {what}"), field


def create_app(config: ServerConfig | None = None, voices: VoiceCache | None = None) -> FastAPI:
    """The server's application (run it with uvicorn, or ``tts.server.run.serve``).
    ``voices`` shares an already warm ``VoiceCache`` (tests); default: one for
    ``config.voices_dir``."""
    config = config or ServerConfig()
    service = Service(config, voices or VoiceCache(config.voices_dir, config.runtime))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        service.pool.shutdown()

    app = FastAPI(title="voxclone", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None)
    app.state.service = service

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        message, field = _validation_message(exc)
        return error_response(ApiError(422, message, "invalid_request", field))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return error_response(ApiError(exc.status_code, str(exc.detail), "http_error"))

    @app.post("/v1/audio/speech")
    async def openai_speech(request: SpeechRequest):
        try:
            job = await run_in_threadpool(
                service.job, request.input, "input", request.voice, request.response_format,
                "response_format", emotion=None, intensity=1.0, speed=request.speed, pitch=0.0)
            if job.fmt == "pcm":
                return await service.streamed(dataclasses.replace(job, rate=OPENAI_PCM_RATE))
            return await service.whole(job)
        except Exception as exc:  # noqa: BLE001 - every error is a JSON answer
            return error_response(exc, "input")

    @app.post("/api/tts")
    async def tts(request: TtsRequest):
        try:
            job = await run_in_threadpool(
                service.job, request.text, "text", request.voice, request.format, "format",
                emotion=request.emotion or None, intensity=request.intensity,
                speed=request.speed, pitch=request.pitch)
            if not request.stream:
                return await service.whole(job)
            if job.fmt not in STREAM_FORMATS:
                raise ApiError(400, f"format {job.fmt!r} cannot be streamed; stream wav or pcm, "
                                    "or ask for the whole file (stream: false)",
                               "unsupported_format", "format")
            return await service.streamed(job)
        except Exception as exc:  # noqa: BLE001 - every error is a JSON answer
            return error_response(exc, "text")

    @app.get("/api/voices")
    def voices_list():  # on a thread: the list may read the disk
        try:
            rows = service.voices.rows()
        except Exception as exc:  # noqa: BLE001
            return error_response(exc)
        return {"voices": rows, "default": service.voices.default(),
                "limits": {"max_chars": config.max_chars, "formats": list(FORMATS),
                           "stream_formats": list(STREAM_FORMATS)}}

    @app.get("/api/health")
    async def health():
        return {"status": "ok", "version": __version__, "workers": config.workers,
                "max_queue": config.max_queue, "admitted": service.pool.admitted}

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html",
                            headers={"Content-Security-Policy": PAGE_POLICY})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    if config.loopback:  # a page elsewhere cannot reach a loopback server by renaming it
        app.add_middleware(LoopbackOnly)
    return app
