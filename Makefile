# The two commands: `make run` (demo station at http://127.0.0.1:5000) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install install-test run serve test test-sqlite test-postgres lint chromium screenshots benchmarks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The server and its front-end packages (npm registry), translations compiled.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

station/translations/en/LC_MESSAGES/messages.mo: station/translations/en/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d station/translations -l en --statistics

install: $(VENV)/.installed node_modules/.package-lock.json station/translations/en/LC_MESSAGES/messages.mo

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install-test: install $(VENV)/.installed-test chromium

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium and CJK fonts"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

run: install
	$(BIN)/station demo

serve: install
	$(BIN)/station db upgrade
	$(BIN)/station serve

lint: install-test
	$(BIN)/ruff check .

test-sqlite: install-test
	$(BIN)/python -m pytest -q

test-postgres: install-test
	STATION_TEST_DATABASE=postgresql $(BIN)/python -m pytest -q

test: lint test-sqlite test-postgres

screenshots: install-test
	STATION_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/browser

benchmarks: install-test
	$(BIN)/python benchmarks/sqlite_begin.py

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache .ruff_cache
