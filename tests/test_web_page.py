"""The web page of ``voxclone serve`` in a real browser: Debian's headless Chromium driven by
selenium through /usr/bin/chromedriver (nothing downloaded), against the real server on uvicorn
on a free loopback port.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
    pytest.skip("Debian's chromium and chromium-driver are not installed (/usr/bin/chromium, "
                "/usr/bin/chromedriver): the browser test needs them", allow_module_level=True)
pytest.importorskip("selenium", reason="selenium (a dev dependency) drives the browser test")
pytest.importorskip("uvicorn")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from tts.bundled import BUNDLED_VOICES  # noqa: E402

if not BUNDLED_VOICES.is_file():
    pytest.skip("the bundled voices (checkpoints/voices.json) are missing", allow_module_level=True)

pytestmark = pytest.mark.slow

TEXT = ("The sun rose over the quiet hills. Birds began to sing in the old trees. "
        "It was going to be a long and warm summer day.")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """The real server (uvicorn, in a thread) on a free loopback port, kathleen warm."""
    import uvicorn

    from tts.server.app import create_app
    from tts.server.config import ServerConfig
    from tts.server.run import bind, url_of
    from tts.server.voices import VoiceCache
    from tts.synthesizer import Synthesizer

    voices = VoiceCache(tmp_path_factory.mktemp("voices"))
    Synthesizer(engine=voices.engine("kathleen")).synthesize("Ready.")
    sock = bind("127.0.0.1", 0)
    app = create_app(ServerConfig(voices_dir=voices.root), voices)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield url_of(sock)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic",
                 "--autoplay-policy=no-user-gesture-required",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def page_state(driver) -> dict:
    return driver.execute_script(
        "const v = window.voxclone; return {state: v.state, chunks: v.chunks, error: v.error,"
        " samples: v.samples, rate: v.sampleRate, firstAudioAt: v.firstAudioAt,"
        " streamEndAt: v.streamEndAt, firstStart: v.firstStart, now: v.audioTime()};")


def wait_for(driver, condition, what: str, timeout: float = 90) -> dict:
    """Poll the page's state until ``condition(state)``; fails with the last state."""
    last = {}

    def check(_driver):
        nonlocal last
        last = page_state(driver)
        return condition(last)

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.05).until(check)
    except Exception:  # noqa: BLE001 - report what the page showed
        pytest.fail(f"waiting for {what}: the page's state is {last}")
    return last


def downloaded_wav(driver) -> bytes:
    """The bytes behind the page's download link (a blob: URL), fetched by the page."""
    encoded = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(document.getElementById("download").href)
          .then((r) => r.arrayBuffer())
          .then((buffer) => {
            const bytes = new Uint8Array(buffer);
            let text = "";
            for (let i = 0; i < bytes.length; i += 1) { text += String.fromCharCode(bytes[i]); }
            done(btoa(text));
          })
          .catch((error) => done("ERROR " + error));""")
    assert not encoded.startswith("ERROR"), encoded
    return base64.b64decode(encoded)


def test_page_speaks_while_it_streams_and_offers_a_wav(server_url, browser):
    from tts.watermark import detect

    browser.get(server_url + "/")
    wait_for(browser, lambda s: s["state"] == "idle", "the voices to load", timeout=60)
    voice = Select(browser.find_element(By.ID, "voice"))
    assert "kathleen (bundled) — CC0-1.0" in [o.text for o in voice.options]
    voice.select_by_value("kathleen")
    assert "Licence: CC0-1.0" in browser.find_element(By.ID, "voice-info").text
    text = browser.find_element(By.ID, "text")
    text.clear()
    text.send_keys(TEXT)
    browser.find_element(By.ID, "speak").click()

    first = wait_for(browser, lambda s: s["chunks"] >= 1 or s["error"], "the first audio")
    assert not first["error"]
    played = wait_for(browser, lambda s: s["now"] > s["firstStart"] + 0.2,
                      "the audio context to play past the first piece's start")
    assert played["state"] in ("playing", "finishing", "done")
    done = wait_for(browser, lambda s: s["streamEndAt"] > 0 or s["error"], "the stream's end")
    assert not done["error"] and done["chunks"] >= 2
    assert done["firstAudioAt"] < done["streamEndAt"]  # it started before the text was done

    link = browser.find_element(By.ID, "download")
    assert link.is_displayed() and link.get_attribute("download") == "voxclone.wav"
    wav, rate = sf.read(io.BytesIO(downloaded_wav(browser)), dtype="float32")
    assert rate == 22050 == done["rate"]
    assert len(wav) == done["samples"] and len(wav) > 4 * rate
    assert detect(wav, rate).present


def test_page_shows_server_errors(server_url, browser):
    browser.get(server_url + "/")
    wait_for(browser, lambda s: s["state"] == "idle", "the voices to load", timeout=60)
    browser.find_element(By.ID, "text").clear()
    browser.find_element(By.ID, "speak").click()
    state = wait_for(browser, lambda s: s["state"] == "error", "the error")
    box = browser.find_element(By.ID, "error")
    assert box.is_displayed() and "text is empty" in box.text
    assert state["error"] == box.text
    assert not browser.find_element(By.ID, "download").is_displayed()

