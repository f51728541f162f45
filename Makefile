# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Each creates .venv (once) with what it needs.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench docs charts clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint,demo,docs,aio,dask,progress]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m bigopool demo

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m mypy
	$(PY) -m pytest
	./scripts/test-other-pythons

bench: $(STAMP)
	$(PY) benchmarks/run.py

# The site goes to site/; any warning (a broken link, a bad reference) fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# Redraws docs/img/*.png from the tables in benchmarks/results/.
charts: $(STAMP)
	$(PY) -m pip install --quiet -e '.[charts]'
	$(PY) benchmarks/charts.py

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache
