# Set-up and everyday commands. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint bench reference clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall when the package metadata changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(STAMP)
	@mkdir -p demo-output
	$(VENV)/bin/mahalanobis outliers examples/data/swiss.csv --id-column id \
		--method $(DEMO_METHOD) -o demo-output/swiss-outliers.csv

DEMO_METHOD ?= empirical

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

reference: $(STAMP)
	@command -v Rscript >/dev/null || { echo "make reference needs R: apt-get install r-base-core r-cran-robustbase r-cran-rrcov r-cran-mass r-cran-jsonlite"; exit 2; }
	for f in tests/reference/[a-z]*.R; do echo "Rscript $$f"; Rscript $$f || exit 1; done
	$(PY) tests/reference/illcond_mpmath.py

clean:
	rm -rf $(VENV) demo-output test-artifacts .pytest_cache .ruff_cache

# make test-browser: the HTML report in headless Chromium (installs Debian's chromium).
include Makefile.browser
