# The two commands of the README, on a fresh machine: `make demo` and `make test`.
# Both create .venv and install the package into it; torch is pinned by constraints.txt only here.
# The habits around them: `make lint` (ruff, mypy), `make docs` (the site, into site/), `make dist`
# (sdist + wheel, checked by twine) and `make wheel-test` (the wheel installed in a fresh venv).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test bench lint format docs docs-serve dist wheel-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e ".[test]"
	touch $@

# mypy reads the annotations of what the package imports (torch, fastapi, sklearn...): the test extra.
$(VENV)/.installed-lint: $(VENV)/.installed-test
	$(PIP) -e ".[lint]"
	touch $@

$(VENV)/.installed-docs: $(VENV)/.installed
	$(PIP) -e ".[docs]"
	touch $@

$(VENV)/.installed-dist: $(VENV)/.installed
	$(PIP) -e ".[dist]"
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

lint: $(VENV)/.installed-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-lint
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: $(VENV)/.installed-docs
	$(BIN)/mkdocs build --strict --site-dir site
	@# the Vietnamese pages say they are (docs/hooks.py): screen readers read them in Vietnamese
	grep -q '<html lang="vi"' site/vi/getting-started.html && grep -q 'placeholder="Tìm kiếm"' site/vi/getting-started.html

docs-serve: $(VENV)/.installed-docs
	$(BIN)/mkdocs serve

dist: $(VENV)/.installed-dist
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

wheel-test: dist
	PYTHON=$(PYTHON) tests/wheel_smoke.sh dist/*.whl

clean:
	rm -rf $(VENV) build dist site node_modules *.egg-info src/*.egg-info .pytest_cache .hypothesis .mypy_cache .ruff_cache
