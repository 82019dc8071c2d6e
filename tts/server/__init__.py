"""``voxclone serve``: the HTTP face of voxclone (FastAPI on uvicorn) and its web page.

- ``config``: ``ServerConfig`` (address, workers, queue and size limits);
- ``app``: ``create_app``, the endpoints (OpenAI's ``/v1/audio/speech``, ``/api/tts``,
  ``/api/voices``, the page at ``/``);
- ``voices``: the voices' list and their engines, loaded once and shared;
- ``jobs``: ``SynthesisPool``, the worker threads and the bounded queue;
- ``encoding``: audio bytes (wav, mp3, flac, ogg, pcm; the streamed forms);
- ``errors``, ``limits``: JSON errors in OpenAI's shape, the request-body limit;
- ``run``: ``serve``, binding the address and running uvicorn;
- ``static/``: the page (HTML, CSS, JavaScript; nothing fetched from elsewhere).

Like the CLI, it holds no model or DSP logic: every request is spoken by
``tts.synthesizer.Synthesizer``. See docs/server.md.
"""
