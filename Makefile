# Quick start: `make demo` and `make test` need only python3 (3.10+).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test install install-test install-doc warmup docs docs-clean bench \
	bench-peers lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed-doc: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[doc]"
	touch $@

# Numba compiles the kernels a fit uses on the first run and caches them next
# to the sources. `make demo` does that once here, on a 10 s demo, and says so;
# `make demo WARMUP=0` skips it (the first `cdl demo` then compiles).
WARMUP ?= 1

$(VENV)/.warm: $(VENV)/.installed $(wildcard cdl/_kernels/*.py)
ifeq ($(WARMUP),1)
	@echo "Compiling the kernels once (cached for the next runs; skip: WARMUP=0)"
	$(VENV)/bin/cdl demo --out $(VENV)/warmup --duration 10 --n-iter 2 > /dev/null
	touch $@
endif

install: $(VENV)/.installed

warmup: $(VENV)/.warm

install-test: $(VENV)/.installed-test

install-doc: $(VENV)/.installed-doc

demo: $(VENV)/.installed $(VENV)/.warm
	$(VENV)/bin/cdl demo --out cdl_output/demo

test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

# The documentation site, offline (nothing is downloaded; the EEGBCI examples
# read CDL_DATA_EEGBCI, by default ../shared/data/eegbci): every warning is an
# error, all of them reported. HTML in docs/_build/html.
docs: $(VENV)/.installed-doc
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

# What a build writes (see docs/.gitignore): the next `make docs` starts afresh.
docs-clean:
	rm -rf docs/_build docs/_generated docs/api docs/auto_examples \
		docs/sg_execution_times.rst

# Peer libraries (alphacsc 0.4.1 needs numpy<2) live in their own venv.
bench-peers:
	$(PYTHON) -m venv .venv-peers
	.venv-peers/bin/pip install --quiet -r benchmarks/peers/requirements.txt

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_sparse_coding.py
	$(PY) benchmarks/bench_cdl.py

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check cdl dicod data_fetchers tests benchmarks examples
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info cdl_output
