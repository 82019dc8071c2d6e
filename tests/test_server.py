"""``voxclone serve`` (tts.server): every endpoint through FastAPI's TestClient, with the
bundled kathleen voice loaded once for the module; then the installed command in a subprocess.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from tts.bundled import BUNDLED_VOICES  # noqa: E402
from tts.server.app import create_app  # noqa: E402
from tts.server.config import ServerConfig, is_loopback  # noqa: E402
from tts.server.voices import VoiceCache  # noqa: E402

if not BUNDLED_VOICES.is_file():
    pytest.skip("the bundled voices (checkpoints/voices.json) are missing", allow_module_level=True)

RATE = 22050
THREE = "The sun rose over the hills. Birds began to sing. It was going to be a warm day."
SIX = THREE + " We packed a lunch. The road was long. At noon we reached the lake."


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> VoiceCache:
    """The bundled voices (no cloned ones), kathleen's models loaded and warmed once."""
    cache = VoiceCache(tmp_path_factory.mktemp("voices"))
    from tts.synthesizer import Synthesizer

    Synthesizer(engine=cache.engine("kathleen")).synthesize("Ready.")
    return cache


def make_client(voices: VoiceCache, **limits) -> TestClient:
    config = ServerConfig(voices_dir=voices.root, **limits)
    return TestClient(create_app(config, voices), base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def client(voices):
    with make_client(voices) as client:
        yield client


def error_of(response, status: int, code: str) -> dict:
    """The JSON error body of ``response``, checked for status, shape and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code and error["message"] and "\n" not in error["message"]
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")
    return error


def still_serves(client) -> None:
    response = client.post("/api/tts", json={"text": "Still here.", "voice": "kathleen"})
    assert response.status_code == 200
    wav, rate = sf.read(io.BytesIO(response.content))
    assert rate == RATE and len(wav) > 0.3 * RATE


def test_voices_lists_each_voice_with_its_licence(client):
    data = client.get("/api/voices").json()
    rows = {row["name"]: row for row in data["voices"]}
    assert data["default"] == "kathleen"
    assert rows["kathleen"]["kind"] == "bundled" and rows["kathleen"]["license"] == "CC0-1.0"
    assert rows["kathleen"]["pitch"] is True and rows["kathleen"]["language"] == "en"
    assert "non-commercial" in rows["kathleen-expressive"]["license"]
    assert "happy" in rows["kathleen-expressive"]["emotions"]
    assert data["limits"]["max_chars"] == 4096 and "pcm" in data["limits"]["stream_formats"]


@pytest.mark.parametrize("fmt", ["wav", "mp3", "flac", "ogg", "pcm"])
def test_openai_speech_each_format(client, fmt):
    response = client.post("/v1/audio/speech", json={
        "model": "tts-1", "input": "Good morning to you.", "voice": "kathleen",
        "response_format": fmt, "speed": 1.0})
    assert response.status_code == 200, response.text
    if fmt == "pcm":  # OpenAI's pcm: 24 kHz 16-bit little-endian mono, no header
        assert response.headers["content-type"].startswith("audio/L16; rate=24000")
        wav, rate = sf.read(io.BytesIO(response.content), format="RAW", subtype="PCM_16",
                            samplerate=24000, channels=1, endian="LITTLE")
        assert rate == 24000
    else:
        assert response.headers["content-type"] == f"audio/{ {'mp3': 'mpeg'}.get(fmt, fmt)}"
        wav, rate = sf.read(io.BytesIO(response.content))
        assert rate == RATE
    assert response.headers["x-sample-rate"] == str(rate)
    assert 0.6 < len(wav) / rate < 4.0
    assert np.abs(wav).max() > 0.05



def test_openai_client_example(client, tmp_path):
    """docs/server.md's example with OpenAI's own Python client (through the TestClient)."""
    openai = pytest.importorskip("openai", reason="the openai client is not installed")
    api = openai.OpenAI(base_url="http://127.0.0.1/v1", api_key="unused", http_client=client,
                        max_retries=0)
    with api.audio.speech.with_streaming_response.create(
            model="tts-1", voice="kathleen", input="Hello from voxclone.",
            response_format="wav") as response:
        response.stream_to_file(tmp_path / "hello.wav")
    wav, rate = sf.read(tmp_path / "hello.wav")
    assert rate == RATE and len(wav) > 0.5 * RATE
    with pytest.raises(openai.NotFoundError, match="no voice named 'alloy'"):
        api.audio.speech.create(model="tts-1", voice="alloy", input="Hi.")

def test_openai_speed_changes_the_length(client):
    def seconds(speed: float) -> float:
        response = client.post("/v1/audio/speech", json={
            "input": "Good morning to you all.", "voice": "kathleen", "speed": speed,
            "response_format": "wav"})
        return float(response.headers["x-audio-seconds"])

    assert seconds(1.5) < 0.85 * seconds(1.0)


def test_api_tts_whole_file_is_watermarked(client):
    from tts.watermark import detect

    response = client.post("/api/tts", json={"text": THREE, "voice": "kathleen",
                                             "pitch": 2.0, "speed": 1.1, "format": "flac"})
    assert response.status_code == 200, response.text
    assert response.headers["x-watermark"] == "on"
    wav, rate = sf.read(io.BytesIO(response.content), dtype="float32")
    assert rate == RATE
    assert detect(wav, rate).present


def test_api_tts_emotion(client):
    response = client.post("/api/tts", json={"text": "What a lovely surprise!",
                                             "voice": "kathleen-expressive",
                                             "emotion": "happy", "intensity": 1.5})
    assert response.status_code == 200, response.text
    assert response.headers["x-voice"] == "kathleen-expressive"


def test_stream_sends_sentences_as_they_are_made(voices):
    """Three sentences arrive as separate pieces after the WAV header, and the first is out
    while the synthesis is still running (its worker holds its place in the pool)."""
    from tts.watermark import detect

    with make_client(voices, stream_buffer=1) as client:
        pool = client.app.state.service.pool
        pieces, running_at_first = [], None
        with client.stream("POST", "/api/tts", json={"text": SIX, "voice": "kathleen",
                                                     "format": "wav", "stream": True}) as r:
            assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
            for piece in r.iter_raw():
                pieces.append(piece)
                if len(pieces) == 2:  # header, then the first sentence
                    running_at_first = pool.admitted
        assert len(pieces[0]) == 44 and pieces[0][:4] == b"RIFF"
        assert len(pieces) >= 1 + 6
        assert running_at_first == 1
        wav, rate = sf.read(io.BytesIO(b"".join(pieces)), dtype="float32")
        assert rate == RATE and len(wav) > 4 * RATE
        assert detect(wav, rate).present


def test_stream_pcm_matches_the_whole_file_length(client):
    body = {"text": THREE, "voice": "kathleen", "format": "pcm"}
    whole = client.post("/api/tts", json=body)
    streamed = client.post("/api/tts", json={**body, "stream": True})
    assert whole.status_code == streamed.status_code == 200
    assert streamed.headers["content-type"].startswith(f"audio/L16; rate={RATE}")
    assert abs(len(streamed.content) - len(whole.content)) <= 0.02 * len(whole.content)


def test_full_queue_is_503_and_the_server_recovers(voices):
    with make_client(voices, workers=1, max_queue=0, stream_buffer=1) as client:
        pool = client.app.state.service.pool
        with client.stream("POST", "/api/tts", json={"text": SIX, "voice": "kathleen",
                                                     "format": "pcm", "stream": True}) as r:
            next(r.iter_raw())  # the one worker is now busy with it
            busy = client.post("/v1/audio/speech", json={"input": "Hello.", "voice": "kathleen"})
            error_of(busy, 503, "queue_full")
            assert int(busy.headers["retry-after"]) >= 1
        deadline = time.monotonic() + 20
        while pool.admitted and time.monotonic() < deadline:  # the left stream is given up
            time.sleep(0.05)
        assert pool.admitted == 0
        still_serves(client)


def test_oversized_text_and_body_are_413(voices):
    with make_client(voices, max_chars=50, max_body_bytes=1024) as client:
        long_text = "Speak. " * 10
        error = error_of(client.post("/api/tts", json={"text": long_text}), 413, "text_too_long")
        assert error["param"] == "text" and "50" in error["message"]
        error = error_of(client.post("/v1/audio/speech", json={"input": long_text,
                                                               "voice": "kathleen"}),
                         413, "text_too_long")
        assert error["param"] == "input"
        body = json.dumps({"text": "x" * 5000}).encode()
        error_of(client.post("/api/tts", content=body,
                             headers={"content-type": "application/json"}), 413, "body_too_large")

        def chunked():  # no Content-Length: counted as it comes
            yield b'{"text": "'
            for _ in range(10):
                yield b"y" * 200
            yield b'"}'

        error_of(client.post("/api/tts", content=chunked(),
                             headers={"content-type": "application/json"}), 413, "body_too_large")
        still_serves(client)


@pytest.mark.parametrize("text", ["", "   \n "])
def test_empty_input_is_400(client, text):
    error = error_of(client.post("/v1/audio/speech", json={"input": text, "voice": "kathleen"}),
                     400, "empty_input")
    assert error["param"] == "input"
    error_of(client.post("/api/tts", json={"text": text, "stream": True}), 400, "empty_input")


def test_nothing_speakable_is_400_whole_and_streamed(client):
    for stream in (False, True):
        error = error_of(client.post("/api/tts", json={"text": "?! ... --", "stream": stream}),
                         400, "invalid_text")
        assert "nothing to say" in error["message"]
    still_serves(client)


@pytest.mark.parametrize("voice", ["alloy", "../kathleen", "/etc"])
def test_unknown_voice_is_404(client, voice):
    error = error_of(client.post("/v1/audio/speech", json={"input": "Hi.", "voice": voice}),
                     404, "voice_not_found")
    assert error["param"] == "voice" and "kathleen" in error["message"]
    error_of(client.post("/api/tts", json={"text": "Hi.", "voice": voice, "stream": True}),
             404, "voice_not_found")


@pytest.mark.parametrize(("field", "value", "words"), [
    ("emotion", "furious", "unknown emotion"),
    ("speed", 9.0, "speed must be"),
    ("intensity", 5.0, "intensity must be"),
    ("pitch", 30.0, "pitch must be")])
def test_bad_style_is_400(client, field, value, words):
    body = {"text": "Hi.", "voice": "kathleen-expressive", field: value}
    if field == "intensity":
        body["emotion"] = "happy"
    for stream in (False, True):
        error = error_of(client.post("/api/tts", json={**body, "stream": stream}), 400,
                         "invalid_value")
        assert words in error["message"]


def test_bad_requests_are_json(client):
    error = error_of(client.post("/v1/audio/speech", json={"voice": "kathleen"}), 422,
                     "invalid_request")
    assert error["param"] == "input"
    error_of(client.post("/api/tts", content=b"{not json",
                         headers={"content-type": "application/json"}), 422, "invalid_request")
    error_of(client.post("/api/tts", json={"text": "Hi.", "speed": "fast"}), 422,
             "invalid_request")
    error = error_of(client.post("/v1/audio/speech", json={
        "input": "Hi.", "voice": "kathleen", "response_format": "opus"}), 400,
        "unsupported_format")
    assert "wav, mp3, flac, ogg, pcm" in error["message"]
    error_of(client.post("/api/tts", json={"text": "Hi.", "format": "mp3", "stream": True}),
             400, "unsupported_format")
    error_of(client.get("/no/such/page"), 404, "http_error")
    error_of(client.get("/v1/audio/speech"), 405, "http_error")
    still_serves(client)


def test_loopback_server_refuses_other_host_names(client):
    error = error_of(client.get("/api/voices", headers={"host": "evil.example:5002"}), 400,
                     "invalid_host")
    assert "loopback" in error["message"]
    assert client.get("/api/voices", headers={"host": "localhost:5002"}).status_code == 200
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_page_and_its_files_fetch_nothing_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'id="speak-form"' in page.text and "/static/app.js" in page.text
    for name in ("index.html", "app.js", "style.css"):
        text = (Path(__file__).parents[1] / "tts" / "server" / "static" / name).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), name
        assert client.get(f"/static/{name}").status_code == 200


def test_health(client):
    data = client.get("/api/health").json()
    assert data["status"] == "ok" and data["admitted"] == 0


# The installed command.

VOXCLONE = Path(sys.executable).with_name("voxclone")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VOXCLONE), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.parametrize("port", ["99999", "http", "-1"])
def test_serve_bad_port_is_one_line(port):
    result = run_cli("serve", "--port", port)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"voxclone: error: --port must be a whole number from 0 to 65535, got {port!r}"]



@pytest.mark.parametrize(("args", "message"), [
    (["--workers", "0"], "--workers must be at least 1, got 0"),
    (["--max-queue", "-1"], "--max-queue must be at least 0, got -1"),
    pytest.param(["--port", "0", "--preload", "nobody"],
                 "no voice named 'nobody'; this server has: ", marks=pytest.mark.slow)])
def test_serve_bad_options_are_one_line(args, message):
    result = run_cli("serve", *args)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"voxclone: error: {message}")

def test_serve_port_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--preload")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"voxclone: error: cannot listen on "
                                                   f"127.0.0.1:{port}: ")


@pytest.mark.slow
def test_serve_command_answers(tmp_path):
    """``voxclone serve --port 0`` starts, says where, lists the voices, stops on Ctrl-C."""
    import httpx

    process = subprocess.Popen(
        [str(VOXCLONE), "serve", "--port", "0", "--preload", "--voices-dir", str(tmp_path),
         "--log-level", "warning"], stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        line = process.stderr.readline()
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+)/", line)
        assert match, line
        voices = httpx.get(f"{match.group(1)}/api/voices", timeout=60).json()
        assert "kathleen" in [row["name"] for row in voices["voices"]]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode == 0


def test_serve_warns_when_not_on_loopback(monkeypatch):
    """Another address than loopback is served only with a warning (uvicorn is left out: the
    socket is closed without a connection accepted)."""
    import uvicorn

    from tts.server.run import serve

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    lines: list[str] = []
    serve(ServerConfig(host="0.0.0.0", port=0), preload=[], say=lines.append)
    assert lines[0].startswith("warning: listening on 0.0.0.0, not loopback")
    assert re.match(r"serving on http://0\.0\.0\.0:\d+/ ", lines[1]) and lines[-1] == "stopped"
    lines.clear()
    serve(ServerConfig(port=0), preload=[], say=lines.append)
    assert lines[0].startswith("serving on http://127.0.0.1:")


@pytest.mark.slow  # one server process: about 10 s on a busy 2-core machine
def test_benchmark_serve_reports(tmp_path, capsys):
    """scripts/benchmark_serve.py end to end at its smallest (speeds are not checked)."""
    from vocoder_fixtures import load_script

    bench = load_script("benchmark_serve")
    out = tmp_path / "serve.json"
    assert bench.main(["--repeats", "1", "--warmup", "0", "--requests", "2", "--clients", "1",
                       "--json", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report == json.loads(capsys.readouterr().out)
    (server,) = report["servers"]
    latency = server["first_audio"]
    assert 0 < latency["streamed"]["first_byte_s"] <= latency["streamed"]["last_byte_s"]
    assert latency["audio_s"] > 4 and server["throughput"][0]["requests"] == 2
