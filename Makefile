# Set-up and everyday commands. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test test-torch lint docs bench reference clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall when the package metadata or the compiled kernels change.
$(STAMP): pyproject.toml setup.py src/mahalanobis/_ckernels.c | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The main job: robust (MCD) outlier analysis of the bushfire satellite data (robustbase),
# a table of the most outlying rows, the full result and a self-contained HTML report.
demo: $(STAMP)
	@mkdir -p demo-output
	$(VENV)/bin/mahalanobis outliers examples/data/bushfire.csv --method mcd --random-state 1 \
		-o demo-output/bushfire-outliers.csv --report demo-output/bushfire-report.html

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/mypy src
	$(PY) -m pytest -q tests --doctest-modules src/mahalanobis

# The Array API tests on PyTorch's CPU build as well (pip takes the CPU wheel of torch 2.13.0
# from this machine's disk; a plain `pip install torch` would pull a CUDA build of several GB).
test-torch: $(STAMP)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pytest -q tests/test_array_api.py

# The documentation site (docs/): API reference from the docstrings, user guide, gallery of
# examples/. Warnings are errors; --keep-going lists them all. Output: docs/_build/html.
docs: $(STAMP)
	$(PY) -m sphinx -b html -W --keep-going -q docs docs/_build/html
	@echo "docs/_build/html/index.html"

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

reference: $(STAMP)
	@command -v Rscript >/dev/null || { echo "make reference needs R: apt-get install r-base-core r-cran-robustbase r-cran-rrcov r-cran-mass r-cran-jsonlite"; exit 2; }
	for f in tests/reference/[a-z]*.R; do echo "Rscript $$f"; Rscript $$f || exit 1; done
	$(PY) tests/reference/illcond_mpmath.py

clean:
	rm -rf $(VENV) demo-output test-artifacts .pytest_cache .ruff_cache .mypy_cache docs/_build docs/api docs/gallery

# make test-browser: the HTML report in headless Chromium (installs Debian's chromium).
include Makefile.browser
