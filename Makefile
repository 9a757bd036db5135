# The two commands a newcomer needs: `make run` and `make test`. `make bench` prints the figures.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# make run PORT=8601 SIM_PORT=8865 RESET=1 (RESET: a fresh demo workspace and simulator state)
PORT ?= 8501
SIM_PORT ?= 8765
RESET ?=

.PHONY: run test bench install browser clean constraints

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project's dependencies or their pinned versions change. constraints.txt holds
# the versions the suite last passed with (refresh: see README, "Dependencies").
$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: the workbench on http://127.0.0.1:$(PORT) with the demo workspace and the local Kleer simulator
run: install
	$(PY) -m workbench run --port $(PORT) --sim-port $(SIM_PORT) $(if $(RESET),--reset)

## make test: the whole suite, browser tests included
test: install browser
	$(PY) -m pytest

## make bench: the benchmarks in bench/, each printing its figures
bench: install
	@set -e; for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f; done

# Debian's Chromium for the browser tests: installed with apt when running as root and missing.
# Under CI=true a missing browser fails the run instead of skipping the browser tests.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null)) || \
	     { echo "could not install chromium with apt"; exit 1; }; \
	  elif [ "$$CI" = "true" ]; then \
	    echo "chromium is missing and cannot be installed (not root): the browser tests cannot run"; exit 1; \
	  else \
	    echo "chromium is missing: the browser tests will be skipped (install it: apt-get install chromium)"; \
	  fi; \
	fi

## make constraints: pin what the working venv has (run after make test passed with new versions)
constraints: install
	$(PY) -m pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
