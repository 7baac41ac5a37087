# Two entry points for a fresh machine: `make serve` and `make test`.
# Both create the virtualenv in .venv and install the project into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8001
BENCH_SIZES ?= 10000 100000
BENCH_RUNS ?= 3

.PHONY: setup serve serve-production build test test-fast lint browser bench clean

setup: $(VENV)/.installed node_modules/.installed static/vendor/.copied

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Front-end libraries from the npm registry, pinned by package-lock.json (Vega-Lite for the
# site's charts, TimelineJS and Citation.js for the export tests); the served site and the
# tests never fetch them at run time.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The chart libraries' minified builds, copied where the site serves them (not in git).
static/vendor/.copied: node_modules/.installed timeline/vendor.py $(VENV)/.installed
	$(BIN)/python -m timeline.vendor
	touch $@

build: setup
	$(BIN)/timeline build events.yaml

serve: setup
	$(BIN)/timeline serve events.yaml --host $(HOST) --port $(PORT)

serve-production: setup
	$(BIN)/timeline serve events.yaml --host $(HOST) --port $(PORT) --production

# Debian's Chromium for the browser tests; never a browser download at run time.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v sudo >/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is not installed: browser tests will be skipped (CI=true makes them fail)"; fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The inner loop: no browser, load or packaging tests, and a quarter of each property test's
# examples (Hypothesis replays any failure it found before); make test runs everything.
test-fast: setup
	TIMELINE_EXAMPLES_SHARE=0.25 $(BIN)/pytest -q -m "not browser and not load and not packaging"

# Everything: the load tests time the server, so they run alone after the others (on two
# cores, a browser test beside them is what they would measure).
test: setup browser lint
	$(BIN)/timeline fmt --check events.yaml
	$(BIN)/timeline validate events.yaml
	$(BIN)/pytest -q -m "not load"
	$(BIN)/pytest -q -m load -n 0

# Every figure of the command-line tools (benchmarks/README.md); the site's: benchmarks/load.py.
bench: setup $(VENV)/.bench-installed
	$(BIN)/python benchmarks/run_all.py $(BENCH_SIZES) --runs $(BENCH_RUNS)

$(VENV)/.bench-installed: pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

clean:
	rm -rf $(VENV) node_modules static/vendor build record.db inspect-data.json test-artifacts .pytest_cache .ruff_cache
