# The two commands of the README, on a fresh machine: `make demo` and `make test`.
# Both create .venv and install the package into it; torch is pinned by constraints.txt only here.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/softmaxreg train

# axe-core for the page's accessibility tests, pinned in package.json / package-lock.json
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test: $(VENV)/.installed-test node_modules/.installed
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_train.py

clean:
	rm -rf $(VENV) build node_modules *.egg-info src/*.egg-info .pytest_cache .hypothesis
