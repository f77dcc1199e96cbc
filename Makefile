# Two commands on a fresh machine: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
# The browser tests' node packages (axe-core for the accessibility audit), pinned in package-lock.json.
STAMP_NODE := node_modules/.installed

.PHONY: run demo test bench check boundaries clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11, or run make PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(STAMP_DEV): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(STAMP_RUN)

## make run: install, build the demo data if there is none, serve on http://localhost:$(PORT)
run: $(STAMP_RUN)
	$(BIN)/python -m citydash demo --if-empty
	$(BIN)/python -m streamlit run dashboard.py --server.port $(PORT)

$(STAMP_NODE): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: the accessibility tests need it (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

## make demo: kiosk mode for live events: the city pack's tour (tour.toml) plays by itself in large
## type with no sidebar, for every visitor, with no network needed; one visitor can also add ?mode=kiosk
demo: $(STAMP_RUN)
	$(BIN)/python -m citydash demo --if-empty
	CITYDASH_KIOSK=1 $(BIN)/python -m streamlit run dashboard.py --server.port $(PORT)

## make test: install test dependencies and run every test (browser tests need /usr/bin/chromium).
## TEST_WORKERS=1 runs them in one process; each worker has its own demo data, server and browser.
## --dist worksteal: the browser tests (up to 30 s each) are collected first. Handed out in fixed
## batches, one worker was left running most of them while the other sat idle once the quick tests
## were done; a worker that runs out now takes half of the other's queue (fresh clones: pytest
## 15.6 min before; 11.8, 14.5 and 12.5 min in three runs after, both workers busy to the end).
TEST_WORKERS ?= 2
test: $(STAMP_DEV) $(if $(wildcard package.json),$(STAMP_NODE))
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

## make bench: speed and memory figures at 2M and 20M observations, then the 5-minute load test with
## 20 browser sessions (prints tables; no pass/fail). BENCH_ARGS="--scale 200M" or "--load-only" etc.
BENCH_ARGS ?=
bench: $(STAMP_DEV)
	$(BIN)/python -m citydash bench --load $(BENCH_ARGS)

## make check: validate the catalogue and every extract
check: $(STAMP_RUN)
	$(BIN)/python -m citydash check

## make boundaries: rebuild data/boundaries/ from the npm package vega-datasets (needs npm)
boundaries: $(STAMP_RUN)
	rm -rf build/vega-datasets && mkdir -p build/vega-datasets
	cd build/vega-datasets && npm pack --silent vega-datasets@3.2.1 && tar xzf vega-datasets-3.2.1.tgz
	$(BIN)/python tools/build_london_boundaries.py build/vega-datasets/package data/boundaries/london_boroughs.geojson

clean:
	rm -rf $(VENV) build .pytest_cache test-artifacts node_modules
