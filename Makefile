# The two commands a newcomer needs: `make run` and `make test`. `make bench` prints the figures.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench install browser clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project's dependencies change.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: the workbench on http://127.0.0.1:8501 with the demo workspace and the local Kleer simulator
run: install
	$(PY) -m workbench.cli run

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

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
