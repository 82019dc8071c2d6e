// voxclone's web page: speaks through POST /api/tts with {stream: true, format: "pcm"}.
//
// The server sends 16-bit little-endian mono PCM sentence by sentence (its rate in the
// X-Sample-Rate header). Each piece that arrives is turned into an AudioBuffer and scheduled
// right after the previous one in a Web Audio context, so playback starts with the first
// sentence while the server is still making the rest. When the stream ends, the same samples
// become a WAV file for the download link and the replay player.
"use strict";

const $ = (id) => document.getElementById(id);

const page = {
  voices: [],
  ctx: null,          // AudioContext, made on the first Speak (a user gesture)
  controller: null,   // AbortController of the request in flight
  sources: [],        // scheduled AudioBufferSourceNodes
  nextTime: 0,        // context time where the next piece starts
  downloadUrl: null,
};

// What the page did last, for people and for the browser test.
// Times are performance.now() milliseconds; firstStart is the audio context's time (seconds)
// at which the first piece starts playing, and audioTime() the context's time now.
window.voxclone = { state: "loading", chunks: 0, samples: 0, sampleRate: 0,
  requestAt: 0, firstAudioAt: 0, streamEndAt: 0, firstStart: 0, error: "",
  audioTime: () => (page.ctx ? page.ctx.currentTime : 0) };

function setState(state, message) {
  window.voxclone.state = state;
  document.body.dataset.state = state;
  const status = $("status");
  status.dataset.state = state;
  status.textContent = message;
}

function showError(message) {
  window.voxclone.error = message;
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  setState("error", "Something went wrong: see the message below.");
}

function clearError() {
  window.voxclone.error = "";
  $("error").hidden = true;
  $("error").textContent = "";
}

// The server's JSON error ({"error": {"message": ...}}), or the HTTP status.
async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) {
      return body.error.message;
    }
  } catch (ignored) { /* not JSON */ }
  return `the server answered ${response.status} ${response.statusText}`;
}

function selectedVoice() {
  return page.voices.find((v) => v.name === $("voice").value);
}

function describeVoice() {
  const voice = selectedVoice();
  if (!voice) {
    return;
  }
  const notes = [voice.description, `Licence: ${voice.license}`];
  if (!voice.pitch) {
    notes.push("Its model has no pitch control.");
  }
  $("voice-info").textContent = notes.join(" · ");
  const emotion = $("emotion");
  emotion.replaceChildren(new Option("neutral (default)", ""));
  for (const name of voice.emotions) {
    emotion.add(new Option(name, name));
  }
  emotion.disabled = voice.emotions.length === 0;
  $("pitch").disabled = !voice.pitch;
  if (!voice.pitch) {
    $("pitch").value = "0";
  }
  updateOutputs();
}

function updateOutputs() {
  $("intensity-value").textContent = Number($("intensity").value).toFixed(1);
  $("speed-value").textContent = `${Number($("speed").value).toFixed(2)}×`;
  const pitch = Number($("pitch").value);
  $("pitch-value").textContent = `${pitch > 0 ? "+" : ""}${pitch} semitones`;
  $("intensity").disabled = $("emotion").value === "";
  $("count").textContent = $("text").value.length;
}

async function loadVoices() {
  try {
    const response = await fetch("/api/voices");
    if (!response.ok) {
      throw new Error(await errorMessage(response));
    }
    const data = await response.json();
    page.voices = data.voices;
    $("max-chars").textContent = data.limits.max_chars;
    $("text").maxLength = data.limits.max_chars;
    const select = $("voice");
    select.replaceChildren();
    for (const voice of data.voices) {
      const label = `${voice.name} (${voice.kind}) — ${voice.license}`;
      select.add(new Option(label, voice.name, false, voice.name === data.default));
    }
    if (data.voices.length === 0) {
      throw new Error("this server has no voices");
    }
    select.disabled = false;
    $("speak").disabled = false;
    describeVoice();
    setState("idle", "Ready.");
  } catch (error) {
    showError(`Cannot list the voices: ${error.message}`);
  }
}

function stopPlayback() {
  if (page.controller) {
    page.controller.abort();
    page.controller = null;
  }
  for (const source of page.sources) {
    try { source.stop(); } catch (ignored) { /* not started */ }
  }
  page.sources = [];
}

// 16-bit little-endian PCM bytes -> Float32Array in [-1, 1).
function toFloat(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i += 1) {
    out[i] = view.getInt16(2 * i, true) / 32768;
  }
  return out;
}

function schedule(samples, rate) {
  const ctx = page.ctx;
  const buffer = ctx.createBuffer(1, samples.length, rate);
  buffer.copyToChannel(samples, 0);
  const source = ctx.createBufferSource();
  source.buffer = buffer;
  source.connect(ctx.destination);
  const start = Math.max(page.nextTime, ctx.currentTime + 0.05);
  source.start(start);
  page.nextTime = start + buffer.duration;
  page.sources.push(source);
  source.onended = () => {
    page.sources = page.sources.filter((s) => s !== source);
    if (page.sources.length === 0 && window.voxclone.state === "finishing") {
      setState("done", "Done. Replay or download it below.");
      $("stop").disabled = true;
    }
  };
  const stats = window.voxclone;
  stats.chunks += 1;
  stats.samples += samples.length;
  if (stats.chunks === 1) {
    stats.firstAudioAt = performance.now();
    stats.firstStart = start;
    const wait = ((stats.firstAudioAt - stats.requestAt) / 1000).toFixed(2);
    setState("playing", `Playing (first audio after ${wait} s; the rest is on its way)…`);
  }
}

function wavBlob(parts, rate) {
  const size = parts.reduce((n, p) => n + p.byteLength, 0);
  const header = new DataView(new ArrayBuffer(44));
  const text = (offset, s) => [...s].forEach((c, i) => header.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  header.setUint32(4, 36 + size, true);
  text(8, "WAVE");
  text(12, "fmt ");
  header.setUint32(16, 16, true);
  header.setUint16(20, 1, true);          // PCM
  header.setUint16(22, 1, true);          // mono
  header.setUint32(24, rate, true);
  header.setUint32(28, rate * 2, true);   // bytes per second
  header.setUint16(32, 2, true);          // block align
  header.setUint16(34, 16, true);         // bits per sample
  text(36, "data");
  header.setUint32(40, size, true);
  return new Blob([header.buffer, ...parts], { type: "audio/wav" });
}

function offerDownload(parts, rate) {
  if (page.downloadUrl) {
    URL.revokeObjectURL(page.downloadUrl);
  }
  page.downloadUrl = URL.createObjectURL(wavBlob(parts, rate));
  const link = $("download");
  link.href = page.downloadUrl;
  link.hidden = false;
  const replay = $("replay");
  replay.src = page.downloadUrl;
  replay.hidden = false;
}

async function speak(event) {
  event.preventDefault();
  stopPlayback();
  clearError();
  $("download").hidden = true;
  const stats = window.voxclone;
  Object.assign(stats, { chunks: 0, samples: 0, firstAudioAt: 0, streamEndAt: 0,
    firstStart: 0, requestAt: performance.now() });
  if (!page.ctx) {
    page.ctx = new AudioContext();
  }
  await page.ctx.resume();
  page.nextTime = 0;
  const controller = new AbortController();
  page.controller = controller;
  $("stop").disabled = false;
  setState("waiting", "Making the first sentence…");
  const request = {
    text: $("text").value,
    voice: $("voice").value,
    emotion: $("emotion").value || null,
    intensity: Number($("intensity").value),
    speed: Number($("speed").value),
    pitch: Number($("pitch").value),
    format: "pcm",
    stream: true,
  };
  try {
    const response = await fetch("/api/tts", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
      signal: controller.signal,
    });
    if (!response.ok) {
      throw new Error(await errorMessage(response));
    }
    const rate = Number(response.headers.get("X-Sample-Rate")) || 22050;
    stats.sampleRate = rate;
    const reader = response.body.getReader();
    const parts = [];
    let carry = new Uint8Array(0);   // an odd byte left over from the previous read
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      let bytes = value;
      if (carry.length) {
        bytes = new Uint8Array(carry.length + value.length);
        bytes.set(carry);
        bytes.set(value, carry.length);
      }
      const even = bytes.length - (bytes.length % 2);
      carry = bytes.slice(even);
      if (even === 0) {
        continue;
      }
      const piece = bytes.slice(0, even);
      parts.push(piece);
      schedule(toFloat(piece), rate);
    }
    stats.streamEndAt = performance.now();
    if (stats.chunks === 0) {
      throw new Error("the server sent no audio");
    }
    offerDownload(parts, rate);
    setState("finishing", "All of it is made; playing the rest…");
    if (page.sources.length === 0) {
      setState("done", "Done. Replay or download it below.");
    }
  } catch (error) {
    if (error.name === "AbortError") {
      setState("stopped", "Stopped.");
    } else if (stats.chunks > 0) {  // the connection broke in the middle of the stream
      showError(`The audio stream broke off after ${stats.chunks} piece(s): ${error.message}`);
    } else {
      stopPlayback();
      showError(error.message);
    }
  } finally {
    if (page.controller === controller) {
      page.controller = null;
    }
    $("stop").disabled = page.sources.length === 0 && !page.controller;
  }
}

function stop() {
  stopPlayback();
  $("stop").disabled = true;
  setState("stopped", "Stopped.");
}

$("speak-form").addEventListener("submit", speak);
$("stop").addEventListener("click", stop);
$("voice").addEventListener("change", describeVoice);
for (const id of ["emotion", "intensity", "speed", "pitch", "text"]) {
  $(id).addEventListener("input", updateOutputs);
  $(id).addEventListener("change", updateOutputs);
}
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    $("speak-form").requestSubmit();
  }
});
updateOutputs();
loadVoices();
